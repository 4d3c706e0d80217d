"""X.509 for the fleet's broker TLS: a CA, the broker's server certificate, client certificates.

ECDSA P-256 keys (every TLS stack of the fleet takes them: OpenSSL under mosquitto, Python's ssl
under paho). A client certificate's subject CN is the client's MQTT identity: mosquitto's
`use_identity_as_username` makes it the user name that the ACL's `%u` patterns match, so the CN
is the device id (or HUB_IDENTITY for the hub).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HUB_IDENTITY = "hub"
# A device id is one MQTT topic level and one ACL user name: no '/', '+', '#', '%', spaces.
DEVICE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
CA_YEARS = 10
LEAF_DAYS = 825


class CertificateError(ValueError):
    """A certificate or key that cannot be used; str() is one line."""


def check_device_id(device_id: str) -> str:
    if not DEVICE_ID_PATTERN.match(device_id):
        raise CertificateError(f"device id {device_id!r}: 1-64 letters, digits, '_', '.', '-' "
                               "(it is an MQTT topic level and the certificate's name)")
    if device_id == HUB_IDENTITY:
        raise CertificateError(f"device id {device_id!r} is reserved for the hub")
    return device_id


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey, password: bytes | None = None) -> bytes:
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password
        else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def load_key(pem: bytes, password: bytes | None = None) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=password)
    except (ValueError, TypeError) as exc:
        raise CertificateError(f"private key cannot be read ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CertificateError("private key is not an EC key")
    return key


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def load_cert(pem: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise CertificateError(f"certificate cannot be read ({exc})") from None


def common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1:
        raise CertificateError("certificate has no single common name")
    return str(names[0].value)


def _name(cn: str, fleet_id: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"poh fleet {fleet_id}"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _now() -> dt.datetime:
    # a minute back: a booth whose clock is slightly behind still accepts a fresh certificate
    return dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)


def new_ca(fleet_id: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = new_key()
    name = _name(f"poh fleet CA {fleet_id}", fleet_id)
    now = _now()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def issue(ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, cn: str,
          fleet_id: str, *, server_hosts: tuple[str, ...] = ()
          ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A leaf certificate signed by the CA: a server's (server_hosts become its SAN) or a
    client's (CN = MQTT identity)."""
    key = new_key()
    now = _now()
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server_hosts else ExtendedKeyUsageOID.CLIENT_AUTH
    b = (x509.CertificateBuilder().subject_name(_name(cn, fleet_id))
         .issuer_name(ca_cert.subject).public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now).not_valid_after(now + dt.timedelta(days=LEAF_DAYS))
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(
             digital_signature=True, content_commitment=False, key_encipherment=False,
             data_encipherment=False, key_agreement=True, key_cert_sign=False, crl_sign=False,
             encipher_only=False, decipher_only=False), critical=True)
         .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
             ca_key.public_key()), critical=False))
    if server_hosts:
        b = b.add_extension(x509.SubjectAlternativeName([_san(h) for h in server_hosts]),
                            critical=False)
    return key, b.sign(ca_key, hashes.SHA256())


def check_issued_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> None:
    """Raise unless `cert` was signed by `ca_cert` (a bundle's pieces must belong together)."""
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise CertificateError(f"certificate {common_name(cert)!r} was not issued by the "
                               f"fleet CA ({type(exc).__name__})") from None
