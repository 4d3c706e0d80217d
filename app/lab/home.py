"""The lab's own data folder and scratch signing key: lab and demo sessions never touch the
booth's database and never sign with the booth's key.

The scratch key lives in a plain file next to the lab database (it signs nothing a booth or a
hub may trust: its verdicts name a non-camera capture source and a `lab-` device id).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from app.errors import BadInputError
from app.paths import data_dir, poh_home
from storage.durable import make_private_dir
from sync.device_key import DeviceKey, FileKeySlot, load_or_create

SCRATCH_SECRET = b"poh-lab scratch key: not a secret, never a booth's key"


def lab_home(explicit: Path | None = None) -> Path:
    """`--home`, else POH_LAB_HOME, else DATA_DIR/lab; never the booth's data folder."""
    env = os.environ.get("POH_LAB_HOME")
    home = explicit or (Path(env).expanduser() if env else data_dir() / "lab")
    if home.resolve() == poh_home().resolve():
        raise BadInputError(f"{home} is the booth's data folder: the lab keeps its own "
                            f"(POH_LAB_HOME or --home)")
    if home.exists() and not home.is_dir():
        raise BadInputError(f"{home}: not a folder (the lab's data folder)")
    try:
        make_private_dir(home)
    except OSError as exc:
        raise BadInputError(f"{home}: cannot create the lab's data folder "
                            f"({exc.strerror})") from exc
    return home


def scratch_key(home: Path) -> DeviceKey:
    """The lab's signing key in `home` (made on first use); its public JWK is written next to it
    for `poh verdict verify --public-key`."""
    key = load_or_create(FileKeySlot(home / "scratch-device.key"), SCRATCH_SECRET,
                         device_id=f"lab-{secrets.token_hex(4)}")
    (home / "scratch-device.jwk.json").write_text(json.dumps(key.public_jwk(), indent=2) + "\n")
    return key
