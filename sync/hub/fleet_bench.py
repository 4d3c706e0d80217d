"""`poh hub fleet bench`: the hub's fleet index, measured through the hub's own code path.

Synthetic unit templates (clustered like `bench index`'s "moderate" gallery) are sent as
sealed booth reports to FleetTemplates.handle on a SQLite hub database: each addition is a 1:N
search, a delta and a sealed row, committed. Then a hub restart is timed (decrypt every row,
build the HNSW graph) and 1:N queries on the loaded index (median, p99). No broker: this is the
hub's cost per template, not the network's.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.fleet.envelope import seal, template_b64
from sync.hub.db import open_engine
from sync.hub.fleet_index import FleetIndex
from sync.hub.templates import FleetTemplates

BATCH = 200


def _templates(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    centres = rng.standard_normal((max(1, n // 2), dim)).astype(np.float32)
    x = centres[np.arange(n) % len(centres)] + 0.35 * rng.standard_normal((n, dim)).astype(
        np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def run_bench(n: int, queries: int, dim: int = 192, seed: int = 1) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    vecs = _templates(n, dim, rng)
    key, signer = os.urandom(32), Ed25519PrivateKey.generate()
    with tempfile.TemporaryDirectory(prefix="poh-fleet-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'hub.db'}"
        hub = FleetTemplates(open_engine(url), "bench", key, signer, review_threshold=1.1)
        topic = "poh/v1/bench/booth-1/templates"
        started = time.perf_counter()
        for lo in range(0, n, BATCH):
            adds = [{"entry_id": f"booth-1:bench:{i}", "vendor_data": f"p{i}",
                     "session_id": None, "enrolled_at": "2026-01-01T00:00:00.000Z",
                     "template": template_b64(vecs[i].astype("<f4").tobytes())}
                    for i in range(lo, min(n, lo + BATCH))]
            hub.handle(topic, seal(key, topic, {"type": "sync", "cursor": lo, "adds": adds,
                                                "erasures": []}))
        ingest = time.perf_counter() - started
        started = time.perf_counter()
        restarted = FleetTemplates(open_engine(url), "bench", key, signer,
                                   index=FleetIndex())
        start_up = time.perf_counter() - started
        q = vecs[rng.integers(0, n, queries)] + 0.05 * rng.standard_normal(
            (queries, dim)).astype(np.float32)
        times = []
        for v in q:
            t0 = time.perf_counter()
            restarted.index.search(v / np.linalg.norm(v), 5)
            times.append((time.perf_counter() - t0) * 1000)
        db_bytes = (Path(tmp) / "hub.db").stat().st_size
    return {"templates": n, "ingest_per_s": n / ingest, "ingest_s": ingest,
            "start_up_s": start_up, "graph_build_s": restarted.index.build_seconds,
            "query_ms_p50": float(np.percentile(times, 50)),
            "query_ms_p99": float(np.percentile(times, 99)), "db_bytes": db_bytes,
            "load_average": os.getloadavg()[0]}


def format_report(r: dict[str, Any]) -> str:
    return (f"fleet index at the hub, {r['templates']:,} templates x 192 "
            f"(load average {r['load_average']:.1f})\n"
            f"ingest (1:N + delta + sealed row, committed): {r['ingest_per_s']:.0f} "
            f"templates/s ({r['ingest_s']:.1f} s)\n"
            f"hub start-up (decrypt all, build HNSW): {r['start_up_s']:.1f} s "
            f"(graph {r['graph_build_s']:.1f} s)\n"
            f"1:N query k=5: median {r['query_ms_p50']:.2f} ms, p99 {r['query_ms_p99']:.2f} ms\n"
            f"hub database: {r['db_bytes'] / 1e6:.1f} MB")
