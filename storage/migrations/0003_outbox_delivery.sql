-- Verdict sync: the outbox row now leaves only on the hub's signed ack (not the broker's
-- PUBACK), and the ack is kept with the verdict as the booth's proof of delivery.
-- A refused ack keeps the row: its reason is recorded for the operator.
ALTER TABLE outbox ADD COLUMN refused_reason TEXT;
ALTER TABLE outbox ADD COLUMN refused_at TEXT;
ALTER TABLE verdicts ADD COLUMN hub_ack TEXT;
ALTER TABLE verdicts ADD COLUMN delivered_at TEXT;
