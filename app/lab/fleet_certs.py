"""Throw-away certificates for the lab and the tests: a CA, a broker certificate for loopback
and client pairs, with a TLS broker configuration and a fleet ACL of the same shape as the
shipped one. The product's CA and certificates come from `poh fleet init|add-device`."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@dataclass(frozen=True)
class Pair:
    cert: bytes
    key: bytes


class TestCA:
    __test__ = False  # not a pytest class

    def __init__(self, name: str = "poh test CA") -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        self.cert = (
            x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
            .public_key(self._key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(self._key, hashes.SHA256()))
        self.pem = self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, cn: str, server: bool = False) -> Pair:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        b = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(self.cert.subject)
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - dt.timedelta(minutes=5))
             .not_valid_after(now + dt.timedelta(days=1))
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
        if server:
            b = b.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
        cert = b.sign(self._key, hashes.SHA256())
        return Pair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))

    def write_client(self, folder: Path, cn: str) -> tuple[Path, Path, Path]:
        """(ca, cert, key) files for a client whose certificate CN is `cn`."""
        folder.mkdir(parents=True, exist_ok=True)
        pair = self.issue(cn)
        ca, cert, key = folder / "ca.crt", folder / f"{cn}.crt", folder / f"{cn}.key"
        ca.write_bytes(self.pem)
        cert.write_bytes(pair.cert)
        key.write_bytes(pair.key)
        key.chmod(0o600)
        return ca, cert, key


def tls_broker_files(ca: TestCA, acl: str) -> dict[str, bytes | str]:
    server = ca.issue("localhost", server=True)
    return {"ca.crt": ca.pem, "server.crt": server.cert, "server.key": server.key, "acl": acl}


# TLS listener, client certificate required, its CN as the user name, ACL from the folder.
TLS_CONF = """\
per_listener_settings false
allow_anonymous false
acl_file {dir}/acl
persistence true
persistence_location {dir}/
autosave_interval 1
max_queued_messages 100000
max_inflight_messages 0
listener {port} 127.0.0.1
cafile {dir}/ca.crt
certfile {dir}/server.crt
keyfile {dir}/server.key
require_certificate true
use_identity_as_username true
"""

# Each device writes only its own topics; the hub reads and writes the whole tree.
FLEET_ACL = """\
pattern write poh/v1/+/%u/verdict
pattern write poh/v1/+/%u/status
pattern write poh/v1/+/%u/register
pattern read poh/v1/+/%u/ack

user hub
topic readwrite poh/v1/#
"""
