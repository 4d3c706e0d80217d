"""The shipped broker configuration (packaging/mosquitto/) rendered for one fleet.

The files in packaging/mosquitto/ are the configuration; this module only fills in the fleet's
values (@DIR@, @PORT@, @FLEET@), so what tests run against is what ships. The templates are read
from the source tree: the fleet commands are an operator's tool run from a clone, never part of
a booth's bundle.
"""

from __future__ import annotations

from pathlib import Path

PACKAGING = Path(__file__).resolve().parents[2] / "packaging" / "mosquitto"


class BrokerConfigError(RuntimeError):
    pass


def _template(name: str) -> str:
    path = PACKAGING / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BrokerConfigError(f"the broker configuration template {path} is missing "
                                f"({exc.strerror}): run the fleet commands from a clone of "
                                "the repository") from None


def render_conf(folder: Path | str, port: int | str) -> str:
    """mosquitto.conf with its files in `folder` (a path, or a placeholder for a test helper)."""
    return _template("mosquitto.conf").replace("@DIR@", str(folder)).replace("@PORT@", str(port))


def render_acl(fleet_id: str) -> str:
    return _template("acl").replace("@FLEET@", fleet_id)
