"""What a booth sends a hub reviewer for one session In Review: `python -m
app.lab.benchmarks.evidence_frames_bench [FRAMES]` makes a FLASHING-shaped 640x480 recording of
the sample portrait obama.jpg (its brightness stepping per frame), packs it as the kiosk keeps
it, and times the 12 review frames and their sealed message (app.capture.evidence_frames,
sync.fleet.evidence_wire)."""

from __future__ import annotations

import secrets
import sys
import time
import uuid

import cv2
import numpy as np

from app.capture.evidence import pack
from app.capture.evidence_frames import review_frames
from app.capture.plan import make_plan
from app.capture.recording import Recording, plan_cues
from app.paths import data_dir
from sync.fleet.evidence_wire import seal_frames


def main(n: int = 150) -> str:
    face = cv2.imread(str(data_dir() / "colour" / "obama.jpg"))
    if face is None:
        raise SystemExit("obama.jpg not found: run `poh-lab data fetch` first")
    face = cv2.resize(face, (640, 480)).astype(np.int16)
    plan = make_plan("FLASHING", secrets.token_bytes(16))
    cols, acts = plan_cues(plan, 0.0)
    frames = tuple(np.clip(face + (i % 7) * 6 - 18, 0, 255).astype(np.uint8) for i in range(n))
    packed = pack(Recording("FLASHING", plan.nonce, 30.0, tuple(i / 30 for i in range(n)),
                            frames, cols, acts))
    t0 = time.perf_counter()
    jpegs = review_frames(packed)
    made = time.perf_counter() - t0
    message = seal_frames(secrets.token_bytes(32), "poh/v1/f/booth/evidence",
                          str(uuid.uuid4()), jpegs)
    sizes = [len(j) / 1e3 for j in jpegs]
    return (f"recording {n} frames 640x480 ({len(packed) / 1e6:.1f} MB packed): "
            f"{len(jpegs)} review frames in {made * 1000:.0f} ms, JPEG {min(sizes):.1f}-"
            f"{max(sizes):.1f} kB each, sealed message {len(message) / 1e3:.0f} kB")


if __name__ == "__main__":
    sys.stdout.write(main(int(sys.argv[1]) if len(sys.argv) > 1 else 150) + "\n")
