"""The shipped broker configuration (packaging/mosquitto/) rendered for one fleet.

The files in packaging/mosquitto/ are the configuration; this module only fills in the fleet's
values (@DIR@, @PORT@, @FLEET@), so what tests run against is what ships. The package reaches
them through a link (sync/fleet/mosquitto -> packaging/mosquitto) that the wheel turns into
package data, so `poh fleet init` works from a clone and from an installed wheel alike. The
booth bundle leaves them out: a booth joins a fleet, it never creates one.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

TEMPLATES = "mosquitto"  # beside this module, in sync.fleet


class BrokerConfigError(RuntimeError):
    pass


def _template(name: str) -> str:
    resource = files("sync.fleet").joinpath(TEMPLATES, name)
    try:
        return resource.read_text(encoding="utf-8")
    except OSError as exc:
        raise BrokerConfigError(f"the broker configuration template {resource} is missing "
                                f"({exc.strerror}): run the fleet commands from an installed "
                                "wheel or a clone of the repository, not a booth bundle") from None


def render_conf(folder: Path | str, port: int | str) -> str:
    """mosquitto.conf with its files in `folder` (a path, or a placeholder for a test helper)."""
    return _template("mosquitto.conf").replace("@DIR@", str(folder)).replace("@PORT@", str(port))


def render_acl(fleet_id: str) -> str:
    return _template("acl").replace("@FLEET@", fleet_id)
