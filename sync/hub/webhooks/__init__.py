"""Webhooks exactly as Didit sends them: one event per status change of a session at the hub,
kept in a durable queue in the hub database and delivered at least once (sync.hub.webhooks.
dispatcher), signed with X-Signature, X-Signature-V2 and X-Signature-Simple (signing.py)."""
