"""`poh fleet init|add-device|join|status`: provisioning a fleet of booths.

`init` and `add-device` are the operator's side (the fleet CA, kept offline); `join` and
`status` run on a booth. The CA code lives in sync.fleet, which is neither booth-only nor hub
code, so this leaf CLI may import it (the booth never imports sync.hub).
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import JsonOpt, emit
from app.cli.progress_bar import progress_report
from app.errors import BadInputError

app = typer.Typer(help="A fleet of booths: CA, device bundles, joining.", no_args_is_help=True)

PASSPHRASE_ENV = "POH_BUNDLE_PASSPHRASE"
PassFileOpt = Annotated[Path | None, typer.Option(
    "--passphrase-file", help="Read the bundle passphrase from the first line of this file.")]


HubFaceSearchOpt = Annotated[bool, typer.Option(
    "--hub-face-search", help="Give the hub the template rotation so that it serves Didit's "
                              "face search (it can then link any photo to its enrolment).")]


@contextmanager
def _errors() -> Iterator[None]:
    from storage.errors import DatabaseOpenError, StorageError
    from sync.fleet.broker_conf import BrokerConfigError
    from sync.fleet.bundle import BundleError
    from sync.fleet.ca import CertificateError
    from sync.fleet.folder import FleetError
    from sync.fleet.membership import MembershipError

    try:
        yield
    except (FleetError, BundleError, CertificateError, MembershipError,
            DatabaseOpenError) as exc:
        raise BadInputError(str(exc)) from None
    except (StorageError, BrokerConfigError) as exc:
        sys.stderr.write(f"poh: error: {str(exc).splitlines()[0]}\n")
        raise typer.Exit(1) from None


def _passphrase_from(path: Path | None, prompt: bool) -> str | None:
    from sync.strict_json import InputError, read_input_file

    if path is not None:
        try:
            raw = read_input_file(path, max_bytes=4096)
        except InputError as exc:
            raise BadInputError(str(exc)) from None
        text = raw.decode("utf-8", "replace").splitlines()
        if not text or not text[0].strip():
            raise BadInputError(f"{path}: no passphrase on its first line")
        return text[0].strip()
    if os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV].strip()
    if prompt:
        return getpass.getpass("bundle passphrase: ").strip()
    return None


@app.command("init")
def init(
    folder: Annotated[Path, typer.Argument(help="New (or empty) folder for the fleet.")],
    fleet_id: Annotated[str, typer.Option("--fleet-id", help="The fleet's topic segment.")],
    broker: Annotated[str, typer.Option("--broker", help="mqtts://host:port the booths use.")],
    host: Annotated[list[str] | None, typer.Option(
        "--host", help="Another name or address for the broker's certificate.")] = None,
    hub_face_search: HubFaceSearchOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a fleet: CA, broker and hub certificates, hub signing key, fleet keys."""
    from sync.fleet.folder import init_fleet
    from sync.fleet.hub_face_search import enable_hub_face_search

    with _errors():
        fleet = init_fleet(folder, fleet_id, broker, tuple(host or ()))
        if hub_face_search:
            enable_hub_face_search(fleet)
    out = {"fleet": str(fleet.path), "fleet_id": fleet.fleet_id, "broker_url": fleet.broker_url,
           "broker_config": str(fleet.file("broker", "mosquitto.conf")),
           "hub_public_key": str(fleet.file("hub", "signing.jwk.json")),
           "hub_face_search": hub_face_search}
    emit(out, as_json, lambda o: (
        f"fleet {o['fleet_id']} created in {o['fleet']}\n"
        f"broker: mosquitto -c {o['broker_config']}\n"
        "keep this folder offline; copy broker/ to the broker and hub/ to the hub"))


@app.command("hub-face-search")
def hub_face_search_cmd(
    fleet: Annotated[Path, typer.Option("--fleet", help="The fleet folder.")],
    as_json: JsonOpt = False,
) -> None:
    """Let the hub search faces (Didit's POST /v3/face-search/): copy the fleet's template
    rotation seed into FLEET/hub/. The hub can then link any photo to its enrolment."""
    from sync.fleet.folder import load_fleet
    from sync.fleet.hub_face_search import enable_hub_face_search

    with _errors():
        path, written = enable_hub_face_search(load_fleet(fleet))
    emit({"rotation_seed": str(path), "written": written}, as_json, lambda o: (
        f"hub face search {'enabled' if o['written'] else 'was already enabled'}: "
        f"{o['rotation_seed']}\ncopy hub/ to the hub again; it can now map any face image "
        "into the fleet's template space"))


@app.command("add-device")
def add_device(
    device_id: Annotated[str, typer.Argument(help="The booth's device id (`poh keys show "
                                                  "--public` on the booth), or a new one.")],
    fleet: Annotated[Path, typer.Option("--fleet", help="The fleet folder.")],
    out: Annotated[Path | None, typer.Option(
        "--out", help="Bundle file (default FLEET/devices/DEVICE_ID.pohbundle).")] = None,
    passphrase_file: PassFileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Issue a booth's certificate and write its sealed provisioning bundle."""
    from storage.durable import make_private_dir, write_new_file
    from sync.fleet.bundle import make_bundle, new_passphrase
    from sync.fleet.folder import load_fleet

    given = _passphrase_from(passphrase_file, prompt=False)
    passphrase = given or new_passphrase()
    with _errors():
        folder = load_fleet(fleet)
        target = out or folder.file("devices", f"{device_id}.pohbundle")
        if target.exists():
            raise BadInputError(f"{target} exists (nothing was written)")
        raw = make_bundle(folder, device_id, passphrase)
        make_private_dir(target.parent)
        write_new_file(target, raw)
    result = {"bundle": str(target), "device_id": device_id, "fleet_id": folder.fleet_id,
              "passphrase": None if given else passphrase}
    emit(result, as_json, lambda o: f"bundle for {o['device_id']} written to {o['bundle']}" + (
        f"\npassphrase (give it apart from the stick): {o['passphrase']}"
        if o["passphrase"] else ""))


@app.command("join")
def join(
    bundle: Annotated[Path, typer.Argument(help="The provisioning bundle file.")],
    passphrase_file: PassFileOpt = None,
    register_timeout: Annotated[float, typer.Option(
        "--register-timeout", help="Seconds to try publishing the registration now (0: leave "
                                   "it to the sync loop).")] = 10.0,
    as_json: JsonOpt = False,
) -> None:
    """Join the fleet: install the bundle, re-protect templates, register the verdict key."""
    from app.cli.context import kiosk_config
    from app.kiosk.config import config_path
    from app.kiosk.fleet_join import join_fleet, read_bundle
    from app.paths import poh_home
    from sync.fleet.bundle import MAX_BUNDLE_BYTES, read_header
    from sync.strict_json import InputError, read_input_file

    if not 0 <= register_timeout <= 600:
        raise BadInputError("--register-timeout must be between 0 and 600 seconds")
    try:
        raw = read_input_file(bundle, max_bytes=MAX_BUNDLE_BYTES)
    except InputError as exc:
        raise BadInputError(str(exc)) from None
    with _errors():
        read_header(raw)  # not a bundle: say so before asking for a passphrase
        passphrase = _passphrase_from(passphrase_file, prompt=True) or ""
        contents = read_bundle(raw, passphrase)
        with progress_report("face index build stages", as_json, time_left=False) as shown:
            result, membership = join_fleet(poh_home(), kiosk_config(), config_path(), contents,
                                            rebuild_progress=shown.count)
        registered = False
        if register_timeout > 0:
            from app.kiosk.fleet_sync import register_now

            registered = register_now(poh_home(), kiosk_config(), membership, register_timeout)
    out = {**asdict(result), "registered": registered}
    emit(out, as_json, lambda o: (
        f"{o['status']} fleet {o['fleet_id']} as {o['device_id']} (broker {o['broker_url']}); "
        f"{o['templates_reprotected']} templates re-protected under the fleet key\n"
        + ("registration published" if o["registered"] else
           "registration queued: the sync loop publishes it first")))


@app.command("status")
def status(as_json: JsonOpt = False) -> None:
    """This booth's fleet: id, device, template cursor, what waits for the hub."""
    from app.cli.context import kiosk_config
    from app.kiosk.fleet_sync import fleet_status
    from app.paths import poh_home

    with _errors():
        out = fleet_status(poh_home(), kiosk_config())
    emit(out, as_json, lambda o: "\n".join(f"{k}: {v}" for k, v in o.items()))


@app.command("sync")
def sync(
    seconds: Annotated[float, typer.Option(
        "--seconds", help="Run this long, then stop (0: until interrupted).")] = 0.0,
    as_json: JsonOpt = False,
) -> None:
    """Run the booth's template sync: publish enrolments and erasures, merge the fleet's."""
    import threading

    from app.cli.context import kiosk_config
    from app.kiosk.fleet_sync import fleet_status, template_sync_running
    from app.paths import poh_home
    from sync.template_sync import MergeReport

    if not 0 <= seconds <= 7 * 86400:
        raise BadInputError("--seconds must be between 0 and 604800")
    merged = MergeReport()

    def count(r: MergeReport) -> None:
        merged.applied += r.applied
        merged.added += r.added
        merged.erased += r.erased
        merged.reviews += r.reviews

    done = threading.Event()
    with _errors(), template_sync_running(poh_home(), kiosk_config(), on_merge=count):
        try:
            done.wait(seconds if seconds > 0 else None)
        except KeyboardInterrupt:
            pass
    with _errors():
        out = {**fleet_status(poh_home(), kiosk_config()), "merged_deltas": merged.applied,
               "templates_added": merged.added, "templates_erased": merged.erased,
               "reviews": merged.reviews}
    emit(out, as_json, lambda o: "\n".join(f"{k}: {v}" for k, v in o.items()))
