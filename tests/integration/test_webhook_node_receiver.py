"""A webhook the hub queued for a real stored verdict, verified by Node.js with the verification
Didit documents for JavaScript receivers (HMAC of the raw body; of
JSON.stringify(sortKeys(shortenFloats(JSON.parse(body)))); of the Simple string), so the V2
re-serialisation matches what a Node integrator computes, unicode and whole floats included."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import sqlalchemy as sa
from support.hub_api import Booth

from sync.hub.db import open_engine
from sync.hub.webhooks import admin
from sync.hub.webhooks.signing import body_bytes, signed_headers
from sync.hub.webhooks.tables import webhook_events
from sync.reports import FaceMatch
from sync.vocabulary import SessionStatus, WarningCode

NODE_VERIFIER = r"""
const crypto = require("crypto");
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const raw = Buffer.from(input.raw_b64, "base64");
const h = input.headers, secret = input.secret;
function shortenFloats(v) {
  if (Array.isArray(v)) return v.map(shortenFloats);
  if (v && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shortenFloats(x)]));
  if (typeof v === "number" && !Number.isInteger(v) && v % 1 === 0) return Math.trunc(v);
  return v;
}
function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object")
    return Object.keys(v).sort().reduce((a, k) => { a[k] = sortKeys(v[k]); return a; }, {});
  return v;
}
const mac = (m) => crypto.createHmac("sha256", secret).update(m).digest("hex");
const body = JSON.parse(raw.toString("utf8"));
const simple = `${h["X-Timestamp"]}:${body.session_id}:${body.status}:${body.webhook_type}`;
process.stdout.write(JSON.stringify({
  v1: mac(raw) === h["X-Signature"],
  v2: mac(Buffer.from(JSON.stringify(sortKeys(shortenFloats(body))), "utf8"))
      === h["X-Signature-V2"],
  simple: mac(Buffer.from(simple, "utf8")) === h["X-Signature-Simple"],
}));
"""


def test_node_integrator_verifies_all_three_signatures(tmp_path: Path) -> None:
    node = shutil.which("node") or shutil.which("nodejs")
    assert node is not None, "Node.js is installed with npm (the model fetch needs it)"
    engine = open_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    secret = admin.add_endpoint(engine, "node", "http://127.0.0.1:9/hook")
    booth = Booth(engine)
    booth.store(booth.verdict("first", vendor_data="Zoë Ångström"))
    booth.store(booth.verdict(
        "second", SessionStatus.IN_REVIEW, vendor_data="José 日本 😀", score=88.5,
        matches=(FaceMatch(vendor_data="Zoë Ångström", similarity_score=0.8412,
                           session_id="first"),),
        warnings=(WarningCode.POSSIBLE_DUPLICATED_FACE,)))
    with engine.connect() as conn:
        envelopes = [json.loads(r.envelope) for r in conn.execute(sa.select(webhook_events))]
    assert len(envelopes) == 2
    for env in envelopes:
        env["timestamp"] = 1_767_225_600
        raw = body_bytes(env)
        headers = signed_headers(secret, raw, env["timestamp"])
        out = subprocess.run([node, "-e", NODE_VERIFIER], check=True, capture_output=True,
                             input=json.dumps({"raw_b64": base64.b64encode(raw).decode(),
                                               "headers": headers, "secret": secret}).encode(),
                             timeout=60)
        assert json.loads(out.stdout) == {"v1": True, "v2": True, "simple": True}
    engine.dispose()
