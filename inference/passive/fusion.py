"""A standardised logistic model fit with numpy (Newton's method, L2), and its JSON form.

Used twice: to turn the 60 LBP histogram values into one `lbp_score`, and to fuse all signals into
one live-vs-attack logit. Classes are weighted to equal total weight, so the many attack samples
(two species) do not outvote the live ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

F64 = np.ndarray
Z_CLIP = 4.0  # standardised signals are clipped to +-Z_CLIP


@dataclass(frozen=True)
class LinearModel:
    """logit = bias + sum(weights * clip((x - mean) / std, -Z_CLIP, Z_CLIP)); positive = live.

    The clip keeps one signal far outside the range it was fit on (a bright room behind a live
    face, say) from overruling all the others by extrapolation."""

    names: tuple[str, ...]
    mean: F64
    std: F64
    weights: F64
    bias: float

    def logits(self, x: F64) -> F64:
        """Logits of rows of x (n, d) or of one vector (d,)."""
        zs = np.clip((np.asarray(x, np.float64) - self.mean) / self.std, -Z_CLIP, Z_CLIP)
        z: F64 = zs @ self.weights + self.bias
        return z

    def to_json(self) -> dict[str, Any]:
        return {"names": list(self.names), "mean": self.mean.round(8).tolist(),
                "std": self.std.round(8).tolist(), "weights": self.weights.round(8).tolist(),
                "bias": round(float(self.bias), 8)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> LinearModel:
        names = tuple(str(n) for n in d["names"])
        arrs = [np.asarray(d[k], np.float64) for k in ("mean", "std", "weights")]
        if any(a.shape != (len(names),) for a in arrs):
            raise ValueError("calibration: mean, std and weights must match the names")
        if np.any(arrs[1] <= 0) or not all(np.all(np.isfinite(a)) for a in arrs):
            raise ValueError("calibration: std must be positive and all values finite")
        return cls(names, arrs[0], arrs[1], arrs[2], float(d["bias"]))


def fit_logistic(x: F64, y: npt.NDArray[np.int_], names: tuple[str, ...], l2: float = 0.05,
                 iterations: int = 50) -> LinearModel:
    """Fit P(live | x) with y = 1 for live, 0 for attack; features are standardised first.

    Minimises the class-balanced mean log loss + l2 / 2 * |w|^2 (bias not shrunk), so `l2` means
    the same whatever the number of samples."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    if x.ndim != 2 or x.shape[0] != y.shape[0] or x.shape[1] != len(names):
        raise ValueError(f"fit_logistic: x {x.shape}, y {y.shape}, {len(names)} names")
    if not (0 < y.sum() < len(y)):
        raise ValueError("fit_logistic needs both classes")
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std = np.where(std > 1e-9, std, 1.0)
    xs = np.hstack([np.clip((x - mean) / std, -Z_CLIP, Z_CLIP), np.ones((len(x), 1))])
    sw = np.where(y == 1, 0.5 / y.sum(), 0.5 / (len(y) - y.sum()))  # sums to 1
    w = np.zeros(xs.shape[1])
    reg = np.full(xs.shape[1], l2)
    reg[-1] = 0.0  # the bias is not shrunk
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(xs @ w, -30, 30)))
        grad = xs.T @ (sw * (p - y)) + reg * w
        hess = (xs * (sw * p * (1 - p))[:, None]).T @ xs + np.diag(reg) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return LinearModel(names, mean, std, w[:-1].copy(), float(w[-1]))
