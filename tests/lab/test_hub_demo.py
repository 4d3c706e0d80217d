"""`make demo-hub` end to end in real processes: a joined booth's sessions through mosquitto
and `poh hub run --http`; the Didit-style receiver verifies one webhook per session (all three
signatures, the timestamp), and GET /v3/session/{id}/decision/ gives the Didit-shaped decision
the webhook carried, with the duplicate inside liveness_checks."""

from __future__ import annotations

from pathlib import Path

from app.lab.hub_demo import run_demo


def test_booth_session_to_webhook_and_decision(tmp_path: Path, data_dir: Path) -> None:
    lines: list[str] = []
    out = run_demo(tmp_path / "hub-demo", lines.append)
    first, second = out["sessions"]
    assert (first["status"], second["status"]) == ("Approved", "In Review")
    hooks = {w["session_id"]: w for w in out["webhooks"]}
    assert set(hooks) == {first["session_id"], second["session_id"]}
    assert all(w["verified"] for w in hooks.values()) and out["refused_by_receiver"] == 0
    for s in out["sessions"]:
        decision = out["decisions"][s["session_id"]]
        assert decision["status"] == s["status"] == hooks[s["session_id"]]["status"]
        assert decision["liveness_checks"] == hooks[s["session_id"]]["decision"][
            "liveness_checks"]
        assert decision["poh"]["capture_source"]["kind"] == "video_file"
    [match] = out["decisions"][second["session_id"]]["liveness_checks"][0]["matches"]
    assert match["session_id"] == first["session_id"]
    assert match["vendor_data"] == "demo-person-1" and match["similarity_percentage"] > 53
    assert any("X-Signature-V2 ok" in line for line in lines)
