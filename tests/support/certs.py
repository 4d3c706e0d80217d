"""Throw-away TLS material for tests (lives in the lab: app.lab.fleet_certs)."""

from app.lab.fleet_certs import FLEET_ACL, TLS_CONF, Pair, TestCA, tls_broker_files

__all__ = ["FLEET_ACL", "TLS_CONF", "Pair", "TestCA", "tls_broker_files"]
