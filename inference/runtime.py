"""Compile a model once on the CPU in f32 and run it through one reused infer request.

OpenVINO picks bf16 on CPUs that support it unless told otherwise; bf16 turned one embedding into
all zeros on the target CPU and would make templates from different machines incomparable, so
every model is compiled with INFERENCE_PRECISION_HINT=f32 and the compiled property is checked.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

# Before openvino: keeps OpenVINO's telemetry from loading (entry points import it first too).
import inference.offline

# isort: split
import numpy as np
import openvino as ov

from inference.types import FloatArray

log = logging.getLogger(__name__)

_core: ov.Core | None = None
_core_lock = threading.Lock()


class ModelShapeError(RuntimeError):
    """A model file does not have the input or output layout its wrapper expects."""


def core() -> ov.Core:
    """The process-wide OpenVINO core (creating one per model wastes memory and start-up time)."""
    global _core
    with _core_lock:
        if _core is None:
            if not inference.offline.telemetry_blocked():
                # an entry point imported openvino before inference.offline: say so, loudly
                log.warning("OpenVINO's telemetry package is loaded in this process: import "
                            "inference.offline before openvino in the entry point")
            _core = ov.Core()
        return _core


def use_compile_cache(folder: Path) -> None:
    """Keep compiled models in `folder` (OpenVINO's CACHE_DIR), so that a later start loads them
    instead of compiling again: most of the kiosk's cold start (all seven models: 1.9 s against
    4-6 s on the 2-core machine under load). A blob is keyed by the model's content, the compile
    properties and the OpenVINO version, and gave bit-identical outputs. Call it before the first
    model is compiled, with a folder only the booth's own user can write (the one that holds its
    keys): a blob found there is run as the model."""
    core().set_property({"CACHE_DIR": str(folder)})


def compile_config(threads: int = 0, streams: int = 1) -> dict[str, str]:
    """CPU properties: f32, latency-oriented, `threads` = 0 lets OpenVINO use every core."""
    cfg = {
        "INFERENCE_PRECISION_HINT": "f32",
        "PERFORMANCE_HINT": "LATENCY",
        "NUM_STREAMS": str(streams),
        # The kiosk shares two cores with the camera and UI threads: pinning would starve them.
        "ENABLE_CPU_PINNING": "NO",
    }
    if threads > 0:
        cfg["INFERENCE_NUM_THREADS"] = str(threads)
    return cfg


class CompiledModel:
    """One model compiled once, with one infer request reused for every call (not thread-safe)."""

    def __init__(self, path: Path, *, threads: int = 0) -> None:
        self.path = path
        model = core().read_model(str(path))
        self.input_shapes = [tuple(p.get_partial_shape()) for p in model.inputs]
        if any(not p.get_partial_shape().is_static for p in model.inputs):
            # Landmarks and age are exported with a dynamic batch; batch 1 is all we feed.
            model.reshape({p.get_any_name(): _batch_one(p.get_partial_shape())
                           for p in model.inputs})
        self._compiled = core().compile_model(model, "CPU", compile_config(threads))
        precision = self._compiled.get_property("INFERENCE_PRECISION_HINT")
        if precision != ov.Type.f32:
            raise ModelShapeError(f"{path.name}: compiled with precision {precision}, expected f32")
        self.precision = precision.to_string()
        self.inputs = [tuple(int(d) for d in p.get_shape()) for p in self._compiled.inputs]
        self.outputs = {p.get_any_name(): tuple(int(d) for d in p.get_shape())
                        for p in self._compiled.outputs}
        self._request = self._compiled.create_infer_request()
        log.debug("compiled %s inputs=%s outputs=%s", path.name, self.inputs, self.outputs)

    def expect_input(self, shape: Sequence[int]) -> None:
        if len(self.inputs) != 1 or self.inputs[0] != tuple(shape):
            raise ModelShapeError(
                f"{self.path.name}: input shape {self.inputs}, expected one input {tuple(shape)}"
            )

    def expect_output(self, name: str, size: int) -> None:
        shape = self.outputs.get(name)
        if shape is None or int(np.prod(shape)) != size:
            raise ModelShapeError(
                f"{self.path.name}: output {name!r} {shape}, expected {size} values "
                f"(outputs: {self.outputs})"
            )

    def new_request(self) -> ov.InferRequest:
        """An extra infer request on the same compiled model, for a second worker thread."""
        return self._compiled.create_infer_request()

    def __call__(self, tensor: FloatArray) -> dict[str, FloatArray]:
        """Run the model on one input; outputs are copied (the request reuses its buffers)."""
        self._request.infer({0: np.ascontiguousarray(tensor, dtype=np.float32)})
        return self._outputs()

    def start(self, tensor: FloatArray) -> None:
        """Start an inference in OpenVINO's threads; collect it with `wait`."""
        self._request.start_async({0: np.ascontiguousarray(tensor, dtype=np.float32)})

    def wait(self) -> dict[str, FloatArray]:
        self._request.wait()
        return self._outputs()

    def _outputs(self) -> dict[str, FloatArray]:
        return {p.get_any_name(): np.array(self._request.get_tensor(p).data, dtype=np.float32,
                                           copy=True)
                for p in self._compiled.outputs}


def _batch_one(shape: ov.PartialShape) -> list[int]:
    dims = list(shape)
    out = [1]
    for d in dims[1:]:
        if not d.is_static:
            raise ModelShapeError(f"only the batch dimension may be dynamic, got {shape}")
        out.append(d.get_length())
    return out
