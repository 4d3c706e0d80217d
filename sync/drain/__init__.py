"""The booth's outbox drain: verdicts leave the outbox only on the hub's signed ack."""

from sync.drain.drain import DrainSettings, DrainStats, OutboxDrain

__all__ = ["DrainSettings", "DrainStats", "OutboxDrain"]
