"""The fleet operator's opt-in to face search at the hub: a copy of the fleet's template
rotation seed in the hub folder (FLEET_DIR/hub/rotation.seed, 0600, written durably).

With it the hub can rotate the embedding of any face image into the fleet's template space and
search it against every enrolment of the fleet (Didit's POST /v3/face-search/). That is the
privacy cost: the rotation protects the fleet's templates only from those who lack it, so a hub
(or whoever takes its folder) that holds both the seed and the stored templates can link a
photo of anyone to their enrolment, and the templates at the hub are no longer unlinkable from
raw embeddings. Without the opt-in the hub keeps only template.key and cannot do that.
"""

from __future__ import annotations

from pathlib import Path

from storage.durable import fsync_dir, write_new_file
from sync.fleet.folder import FleetError, FleetFolder

SEED_NAME = "rotation.seed"


def hub_seed_path(fleet: FleetFolder) -> Path:
    return fleet.file("hub", SEED_NAME)


def enable_hub_face_search(fleet: FleetFolder) -> tuple[Path, bool]:
    """(the hub's copy of the seed, whether it was written now); already enabled is fine."""
    seed = fleet.secret(SEED_NAME)
    target = hub_seed_path(fleet)
    if target.exists():
        try:
            have = bytes.fromhex(target.read_text(encoding="ascii").strip())
        except (OSError, ValueError, UnicodeDecodeError):
            have = b""
        if have != seed:
            raise FleetError(f"{target} exists and is not this fleet's rotation seed "
                             "(nothing was written)")
        return target, False
    write_new_file(target, (seed.hex() + "\n").encode())
    fsync_dir(target.parent)  # the new name survives a power cut too
    return target, True
