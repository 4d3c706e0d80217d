"""`poh doctor`'s fleet checks: the outbox backlog and whether the fleet's broker answers.

A booth that never joined a fleet has nothing to deliver: both checks say "not in a fleet".
The broker check makes the same mutual-TLS handshake the sync link makes (the fleet CA, the
booth's client certificate, host name checked), with a short timeout, and sends no MQTT.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from app.kiosk.doctor import Check, OpenBooth
from sync.fleet.membership import Membership, MembershipError, load_membership
from sync.verdict_store import VerdictStore

BROKER_TIMEOUT_S = 3.0
# Verdicts waiting beyond this many mean delivery has stalled for a while (a busy booth makes
# a few hundred a day).
BACKLOG_WARN = 500


def membership(home: Path) -> tuple[Membership | None, Check | None]:
    """The booth's membership, or the FAIL line of one that cannot be read."""
    try:
        return load_membership(home), None
    except MembershipError as exc:
        return None, Check("fleet", "FAIL", str(exc))


def check_outbox(member: Membership | None, booth: OpenBooth | None) -> Check:
    if member is None:
        return Check("outbox", "skip", "not in a fleet")
    if booth is None:
        return Check("outbox", "FAIL", "cannot read the outbox: the database did not open")
    b = VerdictStore(booth.db, fleet=member.fleet_id).backlog()
    detail = (f"{b.pending} verdict(s) waiting, {b.refused} refused by the hub, last sync "
              f"{b.last_sync or 'never'}")
    if b.refused:
        return Check("outbox", "warn", f"{detail}; last refusal: {b.last_refusal}")
    if b.pending >= BACKLOG_WARN:
        return Check("outbox", "warn", detail + "; is `poh sync run` running?")
    return Check("outbox", "ok", detail)


def _tls_context(member: Membership, client_key: Path | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(member.ca))
    if client_key is not None:
        ctx.load_cert_chain(str(member.cert), str(client_key))
    return ctx


def _connect(url: str, member: Membership, db_key: bytes | None, timeout: float) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        if parts.scheme != "mqtts":
            return f"{host}:{port} accepts TCP"
        if db_key is None:  # no database key: the server's side of the handshake only
            ctx = _tls_context(member, None)
            with ctx.wrap_socket(sock, server_hostname=host) as tls:
                return f"{host}:{port} TLS {tls.version()} (server certificate verified)"
        with member.client_key_file(db_key) as key_path:
            ctx = _tls_context(member, key_path)
        with ctx.wrap_socket(sock, server_hostname=host) as tls:
            return f"{host}:{port} TLS {tls.version()}, fleet CA and client certificate ok"


def check_broker(member: Membership | None, booth: OpenBooth | None,
                 timeout: float = BROKER_TIMEOUT_S) -> Check:
    if member is None:
        return Check("broker", "skip", "not in a fleet")
    url = member.broker_url
    try:
        detail = _connect(url, member, booth.key if booth else None, timeout)
    except TimeoutError:
        return Check("broker", "FAIL", f"{url}: no answer within {timeout:g} s (network, "
                                       f"firewall or broker down)")
    except ssl.SSLError as exc:
        return Check("broker", "FAIL", f"{url}: TLS handshake failed: {exc.reason or exc}")
    except OSError as exc:
        return Check("broker", "FAIL", f"{url}: cannot connect: {exc.strerror or exc} "
                                       f"(broker down or unreachable)")
    return Check("broker", "ok", f"{member.fleet_id}/{member.device_id}: {detail}")
