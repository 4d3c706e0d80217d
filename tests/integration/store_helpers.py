"""Helpers of the test_store_* tests: synthetic templates, small index settings, disk state."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

from storage.config import IndexConfig, StorageConfig

REPO = Path(__file__).resolve().parents[2]
_CHILD_PATH = os.pathsep.join([str(REPO), str(Path(__file__).resolve().parent)])


def unit_vectors(n: int, seed: int, dim: int = 192) -> npt.NDArray[np.float32]:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def small_config(home: Path, **index: int) -> StorageConfig:
    """A graph from 50 templates on, so tests exercise HNSW + delta + tombstones quickly. The
    tests ask every stored template back exactly, of random vectors (HNSW's hardest case): the
    search beam is wider than any test gallery, so the walk covers the whole graph (at 128, a
    graph rebuilt on 2 threads in CI once left one of 200 unfound)."""
    params = {"min_graph_size": 50, "rebuild_delta": 10_000, "rebuild_tombstones": 10_000,
              "ef_construction": 100, "m": 16, "ef_search": 1000} | index
    return StorageConfig(home=home, index=IndexConfig(**params))


def disk_state(root: Path) -> dict[str, str]:
    """Every file under root with the sha256 of its bytes (to prove that nothing changed)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def run_until_paused(code: str, point: str, tmp: Path, timeout: float = 60.0) -> None:
    """Run `code` in a child that pauses at fault point `point`; SIGKILL it there."""
    marker = tmp / f"paused-{point}"
    env = os.environ | {"POH_FAULT_PAUSE": point, "POH_FAULT_MARKER": str(marker),
                        "PYTHONPATH": _CHILD_PATH}
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    try:
        while not marker.exists():
            if proc.poll() is not None:
                out, err = proc.communicate()
                raise AssertionError(f"child ended before {point}: {err.decode()[-2000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"child never reached {point}")
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()


def run_child(code: str, env_extra: dict[str, str] | None = None
              ) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PYTHONPATH": _CHILD_PATH} | (env_extra or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)
