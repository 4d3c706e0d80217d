"""`poh bench index --n N`: the face index at scale, on a synthetic clustered gallery.

Gallery: N templates, `samples` noisy samples of each of N/samples identities, whose centres
sit around 256 cluster centres (see Spectrum: the default imitates the spread of real face
embeddings; "isotropic" is a harder worst case). Queries are re-enrollments: a new noisy
sample of an enrolled identity.

Everything runs through the real store (SQLCipher, rotation, HNSW + delta, encrypted snapshot)
in a scratch home. The exact numpy search over the same gallery, in the same process and run,
is the baseline for latency and the ground truth for recall. Start-up from the snapshot and the
memory it costs are measured in a fresh child process. All figures are wall-clock time on
whatever else the machine is running (the load average is reported).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from storage.config import IndexConfig, StorageConfig
from storage.face_store import FaceStore
from storage.template_store import NewTemplate

F32 = npt.NDArray[np.float32]
CLUSTERS = 256
TARGETS = {"p99_ms": 5.0, "recall_at_1": 0.999, "startup_s": 20.0, "memory_mb": 1536.0,
           "visible_ms": 50.0}


@dataclass(frozen=True)
class Spectrum:
    """How synthetic templates spread: per-axis variance ~ i^-decay in a random basis, a shared
    mean direction, and clusters of similar-looking identities.

    Measured on 5,000 pairs each (cosine): "moderate" (default) genuine 0.74, impostors
    0.07 +- 0.09; "crowded" genuine 0.74, impostors 0.08 +- 0.13, fitted to the real
    MobileFaceNet embeddings of the ORL set (impostors 0.10 +- 0.14; 40 look-alike people in
    one lab, so probably more crowded than a large population); "isotropic" white noise in all
    axes, impostors 0.00 +- 0.07. The more crowded, the harder for graph search.
    """

    decay: float
    mean_weight: float
    cluster_weight: float
    noise: float


SPECTRA = {"moderate": Spectrum(0.5, 0.4, 0.6, 0.6), "crowded": Spectrum(0.8, 0.4, 0.6, 0.6),
           "isotropic": Spectrum(0.0, 0.0, 0.65, 0.577)}


def _unit(x: npt.NDArray[np.floating]) -> F32:
    x = np.asarray(x, dtype=np.float32)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


class SyntheticFaces:
    """Deterministic clustered identities; sample(i) draws a fresh noisy template of identity i."""

    def __init__(self, identities: int, dim: int, seed: int, spectrum: str = "moderate"
                 ) -> None:
        spec = SPECTRA[spectrum]
        rng = np.random.default_rng(seed)
        self.dim = dim
        self._spec = spec
        self._basis, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
        scale = np.arange(1, dim + 1, dtype=np.float64) ** (-spec.decay / 2)
        self._scale = scale / np.linalg.norm(scale)
        mean = rng.standard_normal(dim)
        mean /= np.linalg.norm(mean)
        clusters = self._draw(rng, CLUSTERS)
        which = rng.integers(0, CLUSTERS, identities)
        self.centres = np.empty((identities, dim), dtype=np.float32)
        for start in range(0, identities, 100_000):
            part = slice(start, min(identities, start + 100_000))
            n = part.stop - part.start
            self.centres[part] = _unit(spec.mean_weight * mean
                                       + spec.cluster_weight * clusters[which[part]]
                                       + self._draw(rng, n))
        self._rng = np.random.default_rng(seed + 1)

    def _draw(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
        """n vectors of expected squared norm 1 with the spectrum's per-axis variances."""
        z = rng.standard_normal((n, self.dim)) * self._scale
        return np.asarray(z @ self._basis.T)

    def sample(self, ids: npt.NDArray[np.int64]) -> F32:
        return _unit(self.centres[ids] + self._spec.noise * self._draw(self._rng, len(ids)))


def _stats_ms(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000.0
    return {"median": round(float(np.median(ms)), 3), "p99": round(float(np.percentile(ms, 99)), 3),
            "max": round(float(ms.max()), 3), "n": len(ms)}


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def _exact_topk(gallery: F32, q: F32, k: int) -> npt.NDArray[np.int64]:
    scores = gallery @ q
    top = np.argpartition(-scores, k - 1)[:k]
    return top[np.argsort(-scores[top])].astype(np.int64)


_CHILD = """
import json, sys, time
from pathlib import Path
from app.lab.benchmarks.index_bench import _rss_mb
from storage.config import StorageConfig
from storage.database import Database
from storage.face_store import FaceStore
from storage.hnsw_graph import _lib
from storage.keys import load_db_key
_lib()
base = _rss_mb()
home = Path(sys.argv[1])
cfg = StorageConfig.model_validate_json(sys.argv[2])
paths = cfg.paths(home)
t0 = time.perf_counter()
key = load_db_key(paths.key_file, True)
db = Database(paths.db, key, integrity_check=cfg.integrity_check)
t1 = time.perf_counter()
store = FaceStore.attach(db, key, cfg, home, background_rebuild=False)
t2 = time.perf_counter()
rss = _rss_mb()
st = store.stats()
integrity = db.wait_integrity()
t3 = time.perf_counter()
print(json.dumps({"startup_s": t2 - t0, "db_open_s": t1 - t0, "index_load_s": t2 - t1,
                  "integrity": integrity, "integrity_done_s": t3 - t0,
                  "rss_before_mb": base, "rss_after_mb": rss,
                  "index_start": st.index_start["enrolled"],
                  "graph_size": st.index["enrolled"].graph_size}))
store.close()
db.close()
"""


def _startup_child(home: Path, cfg: StorageConfig) -> dict[str, Any]:
    env = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(_CHILD), str(home),
                           cfg.model_dump_json()], env=env, capture_output=True, text=True,
                          timeout=3600, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"start-up child failed: {proc.stderr.strip().splitlines()[-1:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _batches(faces: SyntheticFaces, n: int, samples: int, size: int = 20_000
             ) -> Iterator[tuple[list[NewTemplate], F32]]:
    for start in range(0, n, size):
        rows = np.arange(start, min(n, start + size))
        vecs = faces.sample(rows // samples)
        yield ([NewTemplate("enrolled", f"id{r // samples}-s{r % samples}", None, v)
                for r, v in zip(rows.tolist(), vecs, strict=True)], vecs)


def run_index_bench(n: int, dim: int = 192, *, samples: int = 2, queries: int = 2000,
                    exact_queries: int = 200, churn: int = 200,
                    ef_search: tuple[int, ...] = (32, 64, 96, 128, 192), m: int | None = None,
                    ef_construction: int | None = None, seed: int = 7,
                    spectrum: str = "moderate",
                    home: Path | None = None,
                    progress: Callable[[str], None] = lambda s: None,
                    count: Callable[[int, int], None] = lambda done, total: None
                    ) -> dict[str, Any]:
    """progress(text) names each phase; count(done, total) follows the items of a phase:
    templates stored, the index build's stages, queries, enrolments and erasures."""
    base = IndexConfig()
    icfg = base.model_copy(update={
        "m": m or base.m, "ef_construction": ef_construction or base.ef_construction,
        "min_graph_size": min(base.min_graph_size, n), "rebuild_delta": max(base.rebuild_delta,
                                                                            churn + 1)})
    load_start = os.getloadavg()
    identities = -(-n // samples)
    faces = SyntheticFaces(identities, dim, seed, spectrum)
    with tempfile.TemporaryDirectory(prefix="poh_bench_", dir=home) as tmp:
        scratch = Path(tmp)
        cfg = StorageConfig(home=scratch, index=icfg)
        gallery = np.empty((n, dim), dtype=np.float32)
        store = FaceStore.open(cfg, scratch)
        try:
            progress(f"storing {n} templates of {identities} identities")
            t0 = time.perf_counter()

            def feed() -> Iterator[list[NewTemplate]]:
                done = 0
                for items, vecs in _batches(faces, n, samples):
                    gallery[done:done + len(items)] = vecs
                    done += len(items)
                    yield items
                    count(done, n)
                progress("building the index")

            builds = store.bulk_import(feed(), progress=count)
            built = builds["enrolled"]
            insert_s = time.perf_counter() - t0 - built.seconds
            rss_built = _rss_mb()
            report: dict[str, Any] = {
                "n": n, "dim": dim, "identities": identities, "samples_per_identity": samples,
                "spectrum": spectrum,
                "hnsw": {"m": icfg.m, "ef_construction": icfg.ef_construction,
                         "build_threads": icfg.build_threads},
                "store_insert_s": round(insert_s, 2),
                "build_s": round(built.build_seconds, 2),
                "build_read_db_s": round(built.read_seconds, 2),
                "snapshot_write_s": round(built.snapshot_seconds, 2),
                "snapshot_mb": round(store.stats().snapshot_bytes["enrolled"] / 1e6, 1),
                "bench_process_rss_mb": round(rss_built, 1),
            }
            progress("timing queries")
            report |= _queries(store, faces, gallery, samples, queries, exact_queries,
                               ef_search, icfg.ef_search, count)
            progress("timing enrollment and erasure")
            report |= _churn(store, faces, identities, churn, count)
        finally:
            store.close()
        progress("start-up from the encrypted snapshot (fresh process)")
        child = _startup_child(scratch, cfg)
        report["startup_s"] = round(child["startup_s"], 2)
        report["startup_db_check_s"] = round(child["db_open_s"], 2)
        report["startup_index_load_s"] = round(child["index_load_s"], 2)
        report["integrity_check"] = {"result": child["integrity"],
                                     "done_after_s": round(child["integrity_done_s"], 2),
                                     "mode": cfg.integrity_check}
        report["startup_from"] = child["index_start"]
        report["index_memory_mb"] = round(child["rss_after_mb"] - child["rss_before_mb"], 1)
    report["load_average"] = {"start": [round(x, 2) for x in load_start],
                              "end": [round(x, 2) for x in os.getloadavg()]}
    report["cpus"] = os.cpu_count()
    report["targets"] = TARGETS
    return report


def _queries(store: FaceStore, faces: SyntheticFaces, gallery: F32, samples: int,
             queries: int, exact_queries: int, ef_list: tuple[int, ...], ef_default: int,
             count: Callable[[int, int], None]) -> dict[str, Any]:
    n = len(gallery)
    rng = np.random.default_rng(99)
    q_ids = rng.integers(0, -(-n // samples), queries)
    qs = faces.sample(q_ids.astype(np.int64))
    truth = [_exact_topk(gallery, q, 10) for q in qs]  # template id = row + 1 (fresh database)
    index = store.index_manager.indexes["enrolled"]
    graph = index.graph
    sweep: list[dict[str, Any]] = []
    efs = sorted(set(ef_list) | {ef_default})
    count(0, len(efs) * len(qs))
    for ef in efs:
        if graph is not None:
            graph.set_ef_search(ef)
        lat, r1, r10, ident = [], 0, 0, 0
        for q, t in zip(qs, truth, strict=True):
            rq = store.protect(q)
            t0 = time.perf_counter()
            hits = index.search(rq, 10)
            lat.append(time.perf_counter() - t0)
            got = [h.template_id - 1 for h in hits]
            r1 += int(bool(got) and got[0] == t[0])
            r10 += len(set(got) & set(t.tolist()))
            ident += int(bool(got) and got[0] // samples == t[0] // samples)
        sweep.append({"ef_search": ef, "latency_ms": _stats_ms(lat),
                      "recall_at_1": round(r1 / len(qs), 5),
                      "recall_10_at_10": round(r10 / (10 * len(qs)), 5),
                      "identity_hit_at_1": round(ident / len(qs), 5)})
        count(len(sweep) * len(qs), len(efs) * len(qs))  # the sweep's figures are in the report
    if graph is not None:
        graph.set_ef_search(ef_default)
    full = []
    for q in qs[:500]:
        t0 = time.perf_counter()
        store.search(q, 10)
        full.append(time.perf_counter() - t0)
    exact = []
    for q in qs[:exact_queries]:
        t0 = time.perf_counter()
        _exact_topk(gallery, q, 10)
        exact.append(time.perf_counter() - t0)
    chosen = next(s for s in sweep if s["ef_search"] == ef_default)
    return {"queries": len(qs), "ef_search": ef_default, "query_k10": chosen,
            "ef_sweep": sweep, "store_search_k10_ms": _stats_ms(full),
            "exact_numpy_k10_ms": _stats_ms(exact)}


def _churn(store: FaceStore, faces: SyntheticFaces, identities: int, churn: int,
           count: Callable[[int, int], None]) -> dict[str, Any]:
    """Enroll then search until found; erase then search until gone: time to visibility."""
    rng = np.random.default_rng(5)
    ids = rng.integers(0, identities, churn).astype(np.int64)
    vecs = faces.sample(ids)
    enroll, erase, missed = [], [], 0
    for i, v in enumerate(vecs):
        t0 = time.perf_counter()
        store.enroll(f"churn{i}", v)
        top = store.search(v, 1).enrolled
        enroll.append(time.perf_counter() - t0)
        missed += int(not top or top[0].vendor_data != f"churn{i}")
        count(i + 1, 2 * churn)
    for i, v in enumerate(vecs):
        t0 = time.perf_counter()
        store.forget(f"churn{i}")
        top = store.search(v, 1).enrolled
        erase.append(time.perf_counter() - t0)
        missed += int(bool(top) and top[0].vendor_data == f"churn{i}")
        count(churn + i + 1, 2 * churn)
    return {"enroll_visible_ms": _stats_ms(enroll), "erase_hidden_ms": _stats_ms(erase),
            "churn_visibility_failures": missed}


def _check_text(r: dict[str, Any]) -> str:
    c = r.get("integrity_check")
    if not c:
        return "at open"
    return f"{c['mode']}: {c['result']} {c['done_after_s']} s after start"


def format_report(r: dict[str, Any]) -> str:
    q = r["query_k10"]
    t = r["targets"]
    lines = [
        f"gallery {r['n']} x {r['dim']} ({r['identities']} identities x "
        f"{r['samples_per_identity']} samples, {r['spectrum']} spectrum); HNSW M={r['hnsw']['m']} "
        f"efConstruction={r['hnsw']['ef_construction']} efSearch={r['ef_search']}, "
        f"{r['hnsw']['build_threads']} build threads, {r['cpus']} CPUs, load "
        f"{r['load_average']['start'][0]} -> {r['load_average']['end'][0]}",
        f"store insert {r['store_insert_s']} s; build {r['build_s']} s (+ read "
        f"{r['build_read_db_s']} s, snapshot {r['snapshot_write_s']} s, "
        f"{r['snapshot_mb']} MB)",
        f"query k=10 (index): median {q['latency_ms']['median']} ms, p99 "
        f"{q['latency_ms']['p99']} ms (target <= {t['p99_ms']}); recall@1 "
        f"{q['recall_at_1']} (target >= {t['recall_at_1']}), recall 10@10 "
        f"{q['recall_10_at_10']}",
        f"query k=10 (store: rotation + index + row lookup): median "
        f"{r['store_search_k10_ms']['median']} ms, p99 {r['store_search_k10_ms']['p99']} ms",
        f"exact numpy k=10: median {r['exact_numpy_k10_ms']['median']} ms, p99 "
        f"{r['exact_numpy_k10_ms']['p99']} ms",
        f"enroll -> searchable: median {r['enroll_visible_ms']['median']} ms, p99 "
        f"{r['enroll_visible_ms']['p99']} ms; erase -> hidden: median "
        f"{r['erase_hidden_ms']['median']} ms, p99 {r['erase_hidden_ms']['p99']} ms "
        f"(target < {t['visible_ms']}); failures {r['churn_visibility_failures']}",
        f"start-up from the encrypted snapshot: {r['startup_s']} s "
        f"(database open + check {r.get('startup_db_check_s')} s, index "
        f"{r.get('startup_index_load_s')} s; target <= {t['startup_s']}), "
        f"index memory {r['index_memory_mb']} MB "
        f"(target <= {t['memory_mb']}); page check {_check_text(r)}",
        "efSearch sweep:",
    ]
    for s in r["ef_sweep"]:
        lines.append(f"  ef {s['ef_search']:4d}: median {s['latency_ms']['median']} ms, p99 "
                     f"{s['latency_ms']['p99']} ms, recall@1 {s['recall_at_1']}, "
                     f"recall 10@10 {s['recall_10_at_10']}")
    return "\n".join(lines)
