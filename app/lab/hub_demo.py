"""`make demo-hub`: the hub serving an integrator, every part a real process but the receiver.

A fleet from `poh fleet init`, mosquitto on the shipped configuration, `poh hub run --http`
(ingest, fleet index, HTTP API, webhook delivery), one fleet member joined with its bundle. The
integrator's side: a webhook endpoint and an API key made with `poh hub webhooks add` and
`poh hub api-key add`, and a Didit-style receiver (app.lab.didit_receiver) that checks all
three signatures and the timestamp. Two sessions run through the real pipeline on clips made
from real portraits (a person, then another photo of them: a duplicate), the member's drain
(`poh sync run --once`) takes the signed verdicts to the hub, the receiver gets one webhook per
session, and GET /v3/session/{id}/decision/ answers the Didit-shaped decision.
The clips are files, not a booth camera: the member is `clip-desk`, a lab device that only runs
clip sessions and signs them as `video_file` with its own key (no booth key ever signs them),
and the fleet is marked for testing (the hub refuses such verdicts otherwise). Everything
lives in a scratch folder under the lab's data folder.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.capture.frames import open_source
from app.flow.headless import run_session
from app.kiosk.config import load_config
from app.kiosk.root import open_kiosk
from app.lab.benchmarks.sync_booths import open_booth
from app.lab.broker_process import Mosquitto, free_port
from app.lab.demo_clips import make_demo_clips
from app.lab.didit_receiver import DiditReceiver
from app.lab.fleet_demo import (
    FLEET,
    PASSPHRASE,
    POH,
    background,
    poh,
    stop_all,
    wait_until,
)
from app.lab.home import lab_home
from app.paths import data_dir
from storage.durable import make_private_dir

SESSIONS = (("live", "demo-person-1"), ("again", "demo-person-2"))


def _get(url: str, key: str) -> tuple[int, Any]:
    req = urllib.request.Request(url, headers={"x-api-key": key})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, json.loads(resp.read())


def _clip_sessions(home: Path, clips: dict[str, Path]) -> list[dict[str, str]]:
    """Whole sessions through the real pipeline on the clips, at a fleet member of their own.

    A booth's key signs only what its own camera saw (app.flow refuses a file with it), and no
    key re-signs another's result: the clips run on `clip-desk`, a lab device joined to the
    fleet for them alone (its key signs clip sessions, as `video_file`, and nothing else; it
    never opens a camera), and its drain takes the verdicts to the hub like any member's. The
    hub accepts them only because the fleet is marked for testing."""
    member = open_booth(home, fleet=FLEET)
    lab_key = member.key
    member.close()
    kiosk = open_kiosk(load_config(home / "config.json"), home, scratch_key=lab_key)
    out = []
    try:
        for clip, vendor in SESSIONS:
            v = run_session(kiosk.parts, kiosk.workflow, open_source(str(clips[clip])),
                            vendor).verdict
            out.append({"clip": clip, "session_id": v.session_id, "status": v.status.value,
                        "vendor_data": vendor})
    finally:
        kiosk.close()
    return out


def run_demo(root: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """The whole demo in `root` (made anew); what happened, for the printout and the test."""
    if root.exists():
        shutil.rmtree(root)
    make_private_dir(root)
    port, http_port = free_port(), free_port()
    url, base = f"mqtts://127.0.0.1:{port}", f"http://127.0.0.1:{http_port}"
    fleet = root / "fleet"
    poh("fleet", "init", str(fleet), "--fleet-id", FLEET, "--broker", url)
    broker = Mosquitto(fleet / "broker", port=port,
                       config=(fleet / "broker" / "mosquitto.conf").read_text("utf-8"))
    broker.start()
    receiver = DiditReceiver().start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        say(f"mosquitto {url}; fleet {FLEET} in {fleet}")
        (root / "pass").write_text(PASSPHRASE + "\n")
        home = root / "clip-desk"
        bundle = poh("fleet", "add-device", "clip-desk", "--fleet", str(fleet),
                     "--passphrase-file", str(root / "pass"))["bundle"]
        poh("fleet", "join", bundle, "--passphrase-file", str(root / "pass"),
            "--register-timeout", "0", home=home)
        db = f"sqlite:///{root / 'hub.db'}"
        receiver.secret = poh("hub", "webhooks", "add", "integrator", receiver.url,
                              "--db", db)["secret"]
        key = poh("hub", "api-key", "add", "integrator", "--scope", "decisions:read",
                  "--db", db)["api_key"]
        subprocess.run([*POH, "hub", "testing", FLEET, "--on", "--db", db], check=True,
                       capture_output=True)  # (a command without --json)
        say(f"integrator: webhook endpoint {receiver.url}, API key {key[:17]}... "
            "(decisions:read)")
        procs.append(background(["hub", "run", "--broker", url, "--hub-dir", str(fleet / "hub"),
                                 "--fleet", FLEET, "--db", db, "--http",
                                 f"127.0.0.1:{http_port}"], root / "hub.log"))
        wait_until("the hub's HTTP API answering", lambda: _answers(base + "/health"))
        say(f"hub: ingest, fleet index, API on {base}, webhooks (fleet {FLEET} marked for "
            "testing: the sessions below run on clips, not on a booth camera)")
        clips = make_demo_clips(data_dir() / "colour", root / "clips")
        sessions = _clip_sessions(home, clips)
        for s in sessions:
            say(f"clip-desk: session {s['session_id']} on {s['clip']}.avi for "
                f"{s['vendor_data']}: {s['status']} (signed, in the outbox)")
        sync = poh("sync", "run", "--once", "--timeout", "120", home=home)
        say(f"clip-desk: poh sync run --once: {sync['stored']} verdict(s) stored at the hub, "
            f"outbox {sync['outbox_pending']}")
        got = receiver.wait_for(len(sessions), 60)
        webhooks = []
        for g in got:
            b, c = g.body, g.check
            say(f"receiver: {b['webhook_type']} {b['status']} for session {b['session_id']} "
                f"(event {b['event_id']}): X-Signature {_ok(c.signature)}, X-Signature-V2 "
                f"{_ok(c.signature_v2)}, X-Signature-Simple {_ok(c.signature_simple)}, "
                f"X-Timestamp {'fresh' if c.timestamp_fresh else 'STALE'}")
            webhooks.append({"event_id": b["event_id"], "session_id": b["session_id"],
                             "status": b["status"], "verified": c.ok,
                             "decision": b["decision"]})
        decisions = {}
        for s in sessions:
            code, decision = _get(f"{base}/v3/session/{s['session_id']}/decision/", key)
            decisions[s["session_id"]] = decision
            check = decision["liveness_checks"][0]
            matches = ", ".join(f"{m['vendor_data']} {m['similarity_percentage']}%"
                                for m in check["matches"]) or "none"
            warns = ", ".join(f"{w['risk']} ({w['log_type']})" for w in check["warnings"])
            say(f"GET /v3/session/{s['session_id']}/decision/ -> {code}: {decision['status']}, "
                f"liveness {check['method']} {check['score']} {check['status']}, "
                f"matches {matches}, warnings {warns or 'none'}")
        return {"sessions": sessions, "webhooks": webhooks, "decisions": decisions,
                "refused_by_receiver": receiver.refused}
    finally:
        stop_all(procs, 30)
        receiver.stop()
        broker.stop()


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2).close()
        return True
    except OSError:
        return False


def _ok(flag: bool) -> str:
    return "ok" if flag else "BAD"


def main() -> int:
    def say(text: str) -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    result = run_demo(lab_home() / "hub-demo", say)
    ok = all(w["verified"] for w in result["webhooks"]) and len(result["webhooks"]) == len(
        result["sessions"]) and all(result["decisions"][s["session_id"]]["status"] == s["status"]
                                    for s in result["sessions"])
    say("demo-hub: " + ("every webhook verified, every decision as the booth decided" if ok
                        else "FAILED (see above)"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
