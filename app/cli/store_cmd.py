"""`poh enroll|search|forget`, `poh blocklist add`, `poh db init|stats|reindex`,
`poh keys rotate|repair`.

Registered on the root app with `store_cmd.register(app)`. A database that cannot be opened
(wrong key, corrupt, not a database, key file missing or too open, permission denied, a
read-only filesystem, a data folder never initialised, an initialised booth whose database is
missing, empty or swapped) is bad input: exit 2 with one line. Any other storage failure (disk
full, ...) is exit 1 with one line. Only `enroll` and `blocklist add` may initialise a data
folder that holds nothing of a booth; the other commands create nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from app.cli.common import JsonOpt, emit
from app.cli.inputs import text_option
from app.cli.progress_bar import progress_report
from app.errors import BadInputError

if TYPE_CHECKING:
    from app.checks.face_registry import FaceTemplate
    from storage.face_store import FaceStore

MAX_VENDOR_DATA = 500
MAX_REASON = 500

blocklist_app = typer.Typer(help="Faces that are declined on sight.", no_args_is_help=True)
db_app = typer.Typer(help="The encrypted database and face index.", no_args_is_help=True)
keys_app = typer.Typer(help="Template protection keys.", no_args_is_help=True)

TightOpt = Annotated[bool, typer.Option(
    "--tight", help="The face fills the image (e.g. ORL crops): upscale and pad first.")]
WorkflowOpt = Annotated[Path | None, typer.Option(
    "--workflow", help="Workflow JSON whose FACE_SEARCH thresholds apply (default workflow).")]


@contextmanager
def _storage_errors() -> Iterator[None]:
    from storage.errors import DatabaseOpenError, StorageError

    try:
        yield
    except DatabaseOpenError as exc:
        raise BadInputError(str(exc)) from None
    except StorageError as exc:
        sys.stderr.write(f"poh: error: {str(exc).splitlines()[0]}\n")
        raise typer.Exit(1) from None


@contextmanager
def _store(as_json: bool, create: bool = False) -> Iterator[FaceStore]:
    """The booth's face store; create: the command writes and may initialise a data folder
    that holds nothing of a booth (else nothing is created). A face-index build that opening
    or the command needs (no snapshot yet, a delta past its threshold, reindex, a new key)
    shows its stages on the progress display; nothing is drawn when there is none."""
    from app.cli.context import kiosk_config
    from app.kiosk.storage import open_storage
    from app.paths import poh_home

    cfg = kiosk_config()
    with (_storage_errors(),
          progress_report("face index build stages", as_json, time_left=False) as report):
        storage = open_storage(poh_home(), cfg.storage, evidence=cfg.evidence, sync=cfg.sync,
                               create=create, rebuild_progress=report.count)
        try:
            yield storage.faces
        finally:
            storage.close()


def _template(image: Path, tight: bool) -> FaceTemplate:
    from app.capture.images import load_image
    from app.checks.face_registry import face_template
    from app.cli.context import pipeline

    return face_template(pipeline(), load_image(image), tight=tight)


def _one_face(image: Path, tight: bool) -> Any:
    tpl = _template(image, tight)
    if tpl.embedding is None:
        what = {"NO_FACE_DETECTED": "no face found", "LOW_FACE_QUALITY": "face too unclear",
                "MULTIPLE_FACES_DETECTED": f"{tpl.faces} faces found, need exactly one"}
        code = tpl.warning.value if tpl.warning else "NO_FACE_DETECTED"
        raise BadInputError(f"{image}: {what.get(code, code)} ({code})")
    return tpl.embedding


def _search_report(store: FaceStore, embedding: Any, k: int, workflow: Path | None
                   ) -> dict[str, Any]:
    from app.checks.face_registry import default_search_config, judge, thresholds_dict

    cfg = default_search_config(workflow)
    hits = store.search(embedding, k)
    gallery = store.gallery_size()
    report = judge(hits, cfg, gallery)
    return {"face": report.model_dump(mode="json"), "thresholds": thresholds_dict(cfg),
            "gallery_size": gallery}


def _human_search(o: dict[str, Any]) -> str:
    face = o["face"]
    lines = [f"face search {face['status']} (gallery {o.get('gallery_size', 0)}, review at "
             f"{o['thresholds']['review_threshold']})"]
    for m in face["matches"]:
        tag = " BLOCKLISTED" if m.get("blocklisted") else ""
        who = m["vendor_data"] if m["vendor_data"] is not None else "(blocklist entry)"
        lines.append(f"  {who}  {m['similarity_score']:.4f}{tag}")
    if face["warnings"]:
        lines.append("warnings: " + ", ".join(w["code"] for w in face["warnings"]))
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Attach the store commands and sub-apps to the root app."""
    app.command("enroll")(enroll)
    app.command("search")(search)
    app.command("forget")(forget)
    app.add_typer(blocklist_app, name="blocklist")
    app.add_typer(db_app, name="db")
    app.add_typer(keys_app, name="keys")


def enroll(
    image: Annotated[Path, typer.Argument(help="A photo of one face.")],
    vendor_data: Annotated[str, typer.Option("--vendor-data", help="Your id for the person.")],
    tight: TightOpt = False,
    workflow: WorkflowOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Store the face's protected template; report duplicates found before storing it."""
    vendor_data = text_option(vendor_data, "--vendor-data", MAX_VENDOR_DATA)
    embedding = _one_face(image, tight)
    with _store(as_json, create=True) as store:
        before = _search_report(store, embedding, 5, workflow)
        tid = store.enroll(vendor_data, embedding)
    out = {"template_id": tid, "vendor_data": vendor_data, **before}
    emit(out, as_json, lambda o: f"enrolled {o['vendor_data']} as template {o['template_id']}\n"
         + _human_search(o))


def search(
    image: Annotated[Path, typer.Argument(help="A photo of one face.")],
    k: Annotated[int, typer.Option("--k", help="Matches to return (1-100).")] = 5,
    tight: TightOpt = False,
    workflow: WorkflowOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """1:N search: duplicates (POSSIBLE_DUPLICATED_FACE) and blocklist hits (BLOCKLISTED_FACE)."""
    from app.checks.face_registry import default_search_config, not_finished, thresholds_dict

    if not 1 <= k <= 100:
        raise BadInputError("--k must be between 1 and 100")
    tpl = _template(image, tight)
    if tpl.embedding is None:
        cfg = default_search_config(workflow)
        code = tpl.warning
        if code is None:
            raise BadInputError(f"{image}: no face template")
        out = {"face": not_finished(code).model_dump(mode="json"),
               "thresholds": thresholds_dict(cfg)}
        emit(out, as_json, _human_search)
        return
    with _store(as_json) as store:
        out = _search_report(store, tpl.embedding, k, workflow)
    emit(out, as_json, _human_search)


def forget(
    vendor_data: Annotated[str, typer.Option("--vendor-data", help="The person to erase.")],
    as_json: JsonOpt = False,
) -> None:
    """Right to erasure: the person's templates, index entries, sessions (with verdicts) and
    kept challenge recordings."""
    from app.cli.context import kiosk_evidence
    from app.kiosk.operator_console import erase_person

    vendor_data = text_option(vendor_data, "--vendor-data", MAX_VENDOR_DATA)
    with _store(as_json) as store:
        res = erase_person(store, kiosk_evidence(), vendor_data)
    out = asdict(res)
    emit(out, as_json, lambda o: (
        f"erased {o['vendor_data']}: {o['templates']} templates, {o['sessions']} sessions, "
        f"{o['verdicts']} verdicts, {o['recordings']} kept recordings"))


@blocklist_app.command("add")
def blocklist_add(
    image: Annotated[Path, typer.Argument(help="A photo of one face.")],
    reason: Annotated[str, typer.Option("--reason", help="Why this face is blocked.")],
    vendor_data: Annotated[str | None, typer.Option(
        "--vendor-data", help="Optional id to erase the entry with `poh forget`.")] = None,
    tight: TightOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Add a face to the blocklist; a later match reports BLOCKLISTED_FACE."""
    reason = text_option(reason, "--reason", MAX_REASON)
    if vendor_data is not None:
        vendor_data = text_option(vendor_data, "--vendor-data", MAX_VENDOR_DATA)
    embedding = _one_face(image, tight)
    with _store(as_json, create=True) as store:
        tid = store.add_blocklist(embedding, reason, vendor_data)
    emit({"template_id": tid, "reason": reason, "vendor_data": vendor_data}, as_json,
         lambda o: f"blocklisted as template {o['template_id']} ({o['reason']})")


@db_app.command("init")
def db_init(
    force: Annotated[bool, typer.Option(
        "--force", help="Start a new booth even though one was initialised here: its database, "
                        "marker, index snapshots and kept recordings are moved to "
                        "POH_HOME/set-aside-<time>/ (never deleted).")] = False,
    camera: Annotated[str | None, typer.Option(
        "--camera", help="Also record this camera (an OpenCV index or /dev/videoN) as the "
                         "booth's camera (see `poh camera provision`).")] = None,
    allow_virtual: Annotated[bool, typer.Option(
        "--allow-virtual", help="With --camera: record a device that looks virtual (lab "
                                "benches only).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Initialise this booth's data folder: key, database, booth marker, device key (once; an
    initialised booth is left as it is unless --force); with --camera, its camera."""
    from app.cli.camera_cmd import probe_for_provisioning, record_camera
    from app.cli.context import kiosk_config
    from app.kiosk.storage import init_home
    from app.paths import poh_home

    # the camera is checked first: a device that cannot be recorded initialises nothing
    probe = probe_for_provisioning(camera, allow_virtual) if camera is not None else None
    cfg = kiosk_config().storage
    with _storage_errors():
        res = init_home(poh_home(), cfg, force=force)
        recorded = record_camera(poh_home(), cfg, probe) if probe is not None else None
    out: dict[str, Any] = {k: (str(v) if isinstance(v, Path) else v)
                           for k, v in asdict(res).items()}
    out["camera"] = recorded

    def human(o: dict[str, Any]) -> str:
        lines = [f"{o['status']}: booth {o['booth_id']} (since {o['created_at']}), database "
                 f"{o['database']}, device {o['device_id']} key {o['key_id']}"]
        if o["set_aside"]:
            lines.append(f"the previous booth's files were moved to {o['set_aside']}")
        if o["camera"]:
            lines.append(f"booth camera recorded: {o['camera']['describe']}")
        return "\n".join(lines)

    emit(out, as_json, human)


@db_app.command("stats")
def db_stats(as_json: JsonOpt = False) -> None:
    """Counts, sizes, key generation and the state of the face index."""
    with _store(as_json) as store:
        st = asdict(store.stats())

    def human(o: dict[str, Any]) -> str:
        lines = [f"database {o['db_path']} ({o['db_bytes'] / 1e6:.1f} MB, schema "
                 f"{o['schema_version']}, key generation {o['key_generation']})",
                 f"templates: {o['templates']['enrolled']} enrolled, "
                 f"{o['templates']['blocklist']} blocklisted",
                 f"sessions {o['sessions']}, verdicts {o['verdicts']}, outbox pending "
                 f"{o['outbox_pending']}"]
        for kind, ix in o["index"].items():
            lines.append(f"index {kind}: graph {ix['graph_size']}, delta {ix['delta_size']}, "
                         f"tombstones {ix['tombstones']} ({o['index_start'].get(kind, '?')}, "
                         f"snapshot {o['snapshot_bytes'][kind] / 1e6:.1f} MB)")
        if o["stray_templates"]:
            lines.append(f"{o['stray_templates']} templates of another key generation: search "
                         "and enrolment refuse until `poh keys repair`")
        return "\n".join(lines)

    emit(st, as_json, human)


@db_app.command("reindex")
def db_reindex(as_json: JsonOpt = False) -> None:
    """Fold the exact-search delta into fresh HNSW graphs and rewrite the snapshots."""
    with _store(as_json) as store:
        store.reindex()
        st = asdict(store.stats())
    emit({"index": st["index"], "snapshot_bytes": st["snapshot_bytes"]}, as_json,
         lambda o: "\n".join(f"{k}: graph {v['graph_size']}, delta {v['delta_size']}"
                             for k, v in o["index"].items()))


@keys_app.command("rotate")
def keys_rotate(as_json: JsonOpt = False) -> None:
    """New secret rotation; every template re-keyed in one transaction, index rebuilt."""
    with _store(as_json) as store:
        before = store.key_generation
        after = store.rotate_keys()
        n = sum(store.stats().templates.values())
    emit({"key_generation_before": before, "key_generation": after, "templates": n}, as_json,
         lambda o: f"template key rotated: generation {o['key_generation_before']} -> "
                   f"{o['key_generation']}, {o['templates']} templates re-keyed")


@keys_app.command("repair")
def keys_repair(
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Only list the templates that a repair would drop.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Repair a database that holds templates of two key generations (an enrolment raced a
    rotation in an older program): drop those whose key is gone, list the people to enrol again.
    """
    with _store(as_json) as store:
        report = store.repair_key_generations(dry_run=dry_run)
    out = {"key_generation": report.key_generation, "dry_run": report.dry_run,
           "dropped": [asdict(t) for t in report.dropped]}

    def human(o: dict[str, Any]) -> str:
        if not o["dropped"]:
            return f"all templates are of key generation {o['key_generation']}: nothing to repair"
        verb = "would drop" if o["dry_run"] else "dropped"
        lines = [f"{verb} {len(o['dropped'])} templates of a retired key generation (current "
                 f"{o['key_generation']}); enrol these again:"]
        for t in o["dropped"]:
            who = t["vendor_data"] if t["vendor_data"] is not None else "(blocklist entry)"
            extra = f", reason {t['reason']}" if t["reason"] else ""
            lines.append(f"  {who}: {t['kind']} template {t['template_id']} of generation "
                         f"{t['key_generation']}, session {t['session_id'] or '-'}{extra}")
        return "\n".join(lines)

    emit(out, as_json, human)
