-- Fleet-wide uniqueness on a booth (sync.template_sync): which templates the fleet knows.

-- One row per fleet entry this booth holds: templates received from other booths, and this
-- booth's own templates once the hub has announced them. template_id is NULL once the local
-- template is erased (the entry stays until the hub's erasure reaches this booth).
-- A local enrolled template without a row here is still to be published to the hub.
CREATE TABLE fleet_entries (
    entry_id       TEXT PRIMARY KEY,
    template_id    INTEGER UNIQUE,
    origin_device  TEXT NOT NULL,
    origin_session TEXT,
    seq            INTEGER NOT NULL
);

-- People erased at this booth whose fleet-wide erasure the hub has not yet confirmed; the row
-- goes as soon as it has (it names an erased person, so it must not outlive the request).
CREATE TABLE fleet_erasures (
    vendor_data  TEXT PRIMARY KEY,
    requested_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
