"""The booth's side of the hub's commands (sync.fleet.commands): apply a reviewer's decision to
the booth's own session, and run the workflow the hub published for the fleet.

A decision is verified (the hub's signature, this fleet, this device) and applied in one
transaction of the booth's encrypted database: the session's status becomes the decision and
its `data` keeps who decided, when and why; the booth's review cursor (the highest decision it
applied) moves in the same transaction. Decisions form a chain per booth (`previous`): one
whose predecessor this booth has not applied is held back, and the cursor in the booth's
retained status tells the hub what to send again. A workflow is verified, never older than the
one applied before, and handed to the kiosk (Kiosk.apply_workflow checks it completely and
keeps the old one on refusal); the version running, or the refusal, is in the booth's status.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from storage.database import Connection, Database
from sync.fleet.commands import (
    CommandError,
    ReviewDecision,
    WorkflowPush,
    config_topic,
    review_topic,
    verify_review,
    verify_workflow,
)
from sync.fleet.membership import Membership
from sync.transport import Communicator, Connected, Received, Subscribed

log = logging.getLogger(__name__)

META_REVIEW_CURSOR = "fleet_review_cursor"
META_PUBLICATION = "fleet_workflow_publication"


class WorkflowRefused(ValueError):
    """The booth's kiosk refused a pushed workflow; str() is one line (the reason)."""


# applies a workflow document and returns (workflow_id, version) now running;
# raises WorkflowRefused
ApplyWorkflow = Callable[[dict[str, Any]], tuple[str, int]]
RunningWorkflow = Callable[[], tuple[str, int]]


def _get_int(conn: Connection, key: str) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return int(row[0]) if row is not None else 0


def _put_int(conn: Connection, key: str, value: int) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
        "value = excluded.value, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        (key, str(value)))


class BoothCommands:
    def __init__(self, db: Database, membership: Membership, *,
                 apply_workflow: ApplyWorkflow | None = None,
                 running_workflow: RunningWorkflow | None = None,
                 on_change: Callable[[], None] | None = None) -> None:
        self._db = db
        self._fleet = membership.fleet_id
        self._device = membership.device_id
        self._hub = membership.hub_key()
        self._apply = apply_workflow
        self._running = running_workflow
        self.on_change = on_change
        self.review_topic = review_topic(self._fleet, self._device)
        self.config_topic = config_topic(self._fleet)
        self.workflow_error: str | None = None
        self._lock = threading.Lock()

    def subscriptions(self) -> list[tuple[str, int]]:
        return [(self.review_topic, 1), (self.config_topic, 1)]

    @property
    def review_cursor(self) -> int:
        with self._db.read("reading the review cursor") as conn:
            return _get_int(conn, META_REVIEW_CURSOR)

    def status_fields(self) -> dict[str, Any]:
        """For the booth's retained status (sync.drain: status_fields)."""
        out: dict[str, Any] = {"review_cursor": self.review_cursor}
        if self._running is not None:
            out["workflow_id"], out["workflow_version"] = self._running()
        with self._lock:
            if self.workflow_error is not None:
                out["workflow_error"] = self.workflow_error[:300]
        return out

    def handle(self, topic: str, payload: bytes) -> str:
        """One message from the hub; returns what became of it (for logs and tests)."""
        try:
            if topic == self.review_topic:
                outcome = self._review(verify_review(payload, self._hub, self._fleet,
                                                     self._device))
            elif topic == self.config_topic:
                if not payload:
                    return "ignored: no workflow published"  # a cleared retained message
                outcome = self._workflow(verify_workflow(payload, self._hub, self._fleet))
            else:
                return "ignored: not a hub command topic"
        except CommandError as exc:
            log.warning("hub command on %s refused: %s", topic, exc)
            return f"refused: {exc}"
        if self.on_change is not None and not outcome.startswith("ignored"):
            self.on_change()
        return outcome

    def _review(self, msg: ReviewDecision) -> str:
        note = {"review": {"decision_id": msg.decision_id, "status": msg.status,
                           "reviewer": msg.reviewer, "reason": msg.reason,
                           "decided_at": msg.decided_at, "source": "hub"}}
        with self._db.transaction("applying a reviewer's decision") as conn:
            cursor = _get_int(conn, META_REVIEW_CURSOR)
            if msg.decision_id <= cursor:
                return f"ignored: decision {msg.decision_id} applied before"
            if msg.previous > cursor:
                # an earlier decision for this booth has not arrived: the cursor in the
                # booth's status makes the hub send from there, in order
                return f"held: decision {msg.decision_id} waits for {msg.previous}"
            row = conn.execute("SELECT data FROM sessions WHERE id = ?",
                               (msg.session_id,)).fetchone()
            if row is not None:
                conn.execute(
                    "UPDATE sessions SET status = ?, data = json_patch(coalesce(data, '{}'), ?),"
                    " updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
                    (msg.status, json.dumps(note), msg.session_id))
            _put_int(conn, META_REVIEW_CURSOR, msg.decision_id)
        if row is None:  # erased or pruned here since: nothing to change, the chain goes on
            log.info("decision %d: session not on this booth", msg.decision_id)
            return f"applied: decision {msg.decision_id} (session not on this booth)"
        log.info("session %s is now %s (reviewer's decision %d)", msg.session_id, msg.status,
                 msg.decision_id)
        return f"applied: decision {msg.decision_id} {msg.status}"

    def _workflow(self, msg: WorkflowPush) -> str:
        ref = f"{msg.workflow_id} v{msg.workflow_version} (publication {msg.publication})"
        with self._db.read("reading the workflow publication") as conn:
            last = _get_int(conn, META_PUBLICATION)
        if msg.publication < last:
            return f"ignored: {ref} is older than publication {last}"
        if self._apply is None:
            return f"ignored: {ref} (no kiosk runs sessions here)"
        try:
            running = self._apply(msg.workflow)
        except WorkflowRefused as exc:
            with self._lock:
                self.workflow_error = f"{ref}: {exc}"
            log.warning("workflow %s refused: %s", ref, exc)
            return f"refused: {exc}"
        with self._db.transaction("recording the workflow publication") as conn:
            _put_int(conn, META_PUBLICATION, msg.publication)
        with self._lock:
            self.workflow_error = None
        log.info("workflow %s applied from the hub", ref)
        return f"applied: workflow {running[0]} v{running[1]}"


class CommandLoop:
    """Carries BoothCommands over a link (client id `{device}.commands`, a persistent session:
    the broker keeps decisions published while the booth was offline)."""

    def __init__(self, link: Communicator, commands: BoothCommands, poll: float = 0.5) -> None:
        self.link = link
        self.commands = commands
        self.poll = poll
        self.connected = threading.Event()
        self.outcomes: list[str] = []  # the last few, for the operator's logs and tests

    def step(self) -> None:
        event = self.link.get(timeout=self.poll)
        if isinstance(event, Connected):
            self.link.subscribe(self.commands.subscriptions())
            self.connected.set()
        elif isinstance(event, Subscribed) and not event.ok:
            log.warning("hub command subscription refused by the broker: %s", event.granted)
        elif isinstance(event, Received):
            outcome = self.commands.handle(event.topic, event.payload)
            self.outcomes = [*self.outcomes[-49:], outcome]

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.step()
