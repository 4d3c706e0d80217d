"""A real Mosquitto broker for tests (the runner lives in the lab: app.lab.broker_process)."""

from app.lab.broker_process import (
    MOSQUITTO,
    PLAIN_CONF,
    BrokerError,
    Mosquitto,
    free_port,
    running_broker,
)

__all__ = ["MOSQUITTO", "PLAIN_CONF", "BrokerError", "Mosquitto", "free_port", "running_broker"]
