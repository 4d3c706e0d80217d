"""Hardening of inputs: the one strict JSON reader and everything that reads through it.

Duplicate keys never reopen a closed door (revocations, issuer keys, JWKs, JWS claims, workflows,
configuration, recordings); JSON nested thousands of levels deep, integers with thousands of
digits, NaN and 1e400 are refused with one line instead of crashing; every number a workflow or
the configuration holds is bounded and finite, so that what validates can also run and be signed.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.capture.plan import make_plan
from app.capture.recording import (
    Recording,
    RecordingError,
    plan_cues,
    read_recording,
    write_recording,
)
from app.errors import BadInputError
from app.kiosk.config import load_config, parse_config
from app.workflows import WorkflowError, load_workflow, parse_workflow
from app.workflows.loader import parse_workflow_document
from inference.types import FrameAnalysis
from sync.canonical import CanonicalError, canonical_bytes, parse_canonical
from sync.credential import (
    CredentialError,
    issue_credential,
    load_issuer_keys,
    load_issuer_keys_file,
    load_revocations_file,
    verify_credential,
)
from sync.device_key import DeviceKey, DeviceKeyError, public_key_from_text
from sync.reports import LivenessReport
from sync.strict_json import (
    MAX_SAFE_INTEGER,
    InputFileError,
    StrictJsonError,
    parse_json,
    read_input_file,
    read_json_file,
)
from sync.verdict import (
    CaptureSource,
    ChallengeBinding,
    VerdictBody,
    VerdictError,
    idempotency_key,
    iso_utc,
    sign_verdict,
    verify_verdict_bytes,
)
from sync.vocabulary import CaptureKind, FeatureStatus, LivenessMethod, SessionStatus

T0 = 1_750_000_000
DEEP = "[" * 100_000 + "]" * 100_000
LONG_INT = "1" * 5_000


# ---- the reader itself ----------------------------------------------------------------------

@pytest.mark.parametrize(("doc", "says"), [
    ('{"a": 1, "a": 2}', "a: key appears twice"),
    ('{"x": {"revoked": ["j"], "revoked": []}}', "revoked: key appears twice"),
    ('{"a": NaN}', "a: NaN is not a JSON number"),
    ('{"a": Infinity}', "a: Infinity is not a JSON number"),
    ('{"a": [0, -Infinity]}', "a.1: -Infinity is not a JSON number"),
    ('{"a": 1e400}', "a: number 1e400 is out of range (not a finite number)"),
    ('{"a": -1e400}', "not a finite number"),
    (f'{{"a": {2**53}}}', "a: integer 9007199254740992 is out of range"),
    (f'{{"a": -{2**53}}}', "out of range"),
    (f'{{"a": {{"b": {LONG_INT}}}}}', "a.b: integer 111111"),
    (DEEP, "nested more than"),
    ("[" * 33 + "]" * 33, "nested more than 32 levels"),
    ('{"a": "\\ud800"}', "lone surrogate"),
    ('{"\\udfff": 1}', "lone surrogate"),
    ('{"a": ', "not valid JSON"),
    ("\ufeff{}", "not valid JSON"),
])
def test_the_strict_reader_refuses_in_one_line(doc: str, says: str) -> None:
    with pytest.raises(StrictJsonError) as err:
        parse_json(doc)
    assert says in str(err.value) and "\n" not in str(err.value)
    assert len(str(err.value)) < 200  # a 5,000-digit number is not echoed back whole


def test_the_strict_reader_refuses_bytes_that_are_not_utf8_or_too_many() -> None:
    with pytest.raises(StrictJsonError, match="not UTF-8"):
        parse_json(b'{"a": "\xff"}')
    with pytest.raises(StrictJsonError, match="larger than 10"):
        parse_json(b'{"a": "0123456789"}', max_bytes=10)


def test_the_strict_reader_accepts_ordinary_json() -> None:
    doc = (f'{{"a": [1, 2.5, -0.0, "\u00e9\\u00e9"], "b": {{"c": null, "d": true}}, '
           f'"max": {MAX_SAFE_INTEGER}, "min": -{MAX_SAFE_INTEGER}, "small": 1e-400}}')
    assert parse_json(doc) == {"a": [1, 2.5, -0.0, "\u00e9\u00e9"], "b": {"c": None, "d": True},
                               "max": MAX_SAFE_INTEGER, "min": -MAX_SAFE_INTEGER, "small": 0.0}
    assert parse_json("[" * 32 + "]" * 32) is not None


def test_files_that_are_not_regular_files_are_refused_unread(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="is a folder"):
        read_input_file(tmp_path, max_bytes=100)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # reading it would block for ever
    with pytest.raises(InputFileError, match="not a regular file"):
        read_input_file(fifo, max_bytes=100)
    with pytest.raises(InputFileError, match="not a regular file"):
        read_input_file(Path("/dev/zero"), max_bytes=100)  # would never end
    with pytest.raises(InputFileError, match="no such file"):
        read_input_file(tmp_path / "missing.json", max_bytes=100)
    with pytest.raises(InputFileError, match="file name too long"):
        read_input_file(Path("eyJ" + "A" * 5000), max_bytes=100)
    big = tmp_path / "big.json"
    big.write_text("[" + "0," * 100 + "0]")
    with pytest.raises(InputFileError, match="larger than 100"):
        read_input_file(big, max_bytes=100)
    dup = tmp_path / "dup.json"
    dup.write_text('{"k": 1, "k": 2}')
    with pytest.raises(StrictJsonError, match=r"dup\.json: k: key appears twice"):
        read_json_file(dup)


# ---- credentials: revocations, issuer keys, JWS -----------------------------------------------

def _token(key: DeviceKey) -> str:
    return issue_credential(key, vendor_data="voter-0042", method=LivenessMethod.PASSIVE,
                            unique=True, workflow="poh-default@1", validity_seconds=3600, now=T0)


def test_a_duplicate_revoked_key_never_unrevokes(tmp_path: Path) -> None:
    key = DeviceKey.generate()
    keys = load_issuer_keys(key.public_jwk())
    token = _token(key)
    jti = verify_credential(token, keys, now=T0).jti
    path = tmp_path / "revoked.json"
    path.write_text(f'{{"revoked": ["{jti}"], "revoked": []}}')
    with pytest.raises(CredentialError, match="revoked: key appears twice"):
        load_revocations_file(path)
    path.write_text(f'{{"revoked": ["{jti}"], "revokd": []}}')  # a misspelt second list
    with pytest.raises(CredentialError, match="no other key"):
        load_revocations_file(path)


@pytest.mark.parametrize("text", [
    '{"revoked": ' + DEEP + "}", '{"revoked": [' + LONG_INT + "]}", '{"revoked": [1e400]}',
    '{"revoked": ["\\ud800"]}',
])
def test_malformed_revocation_lists_are_refused_not_crashed(tmp_path: Path, text: str) -> None:
    path = tmp_path / "revoked.json"
    path.write_text(text)
    with pytest.raises(CredentialError) as err:
        load_revocations_file(path)
    assert "\n" not in str(err.value)


def test_revocations_and_issuer_keys_must_be_regular_files(tmp_path: Path) -> None:
    with pytest.raises(CredentialError, match="is a folder"):
        load_revocations_file(tmp_path)
    with pytest.raises(CredentialError, match="is a folder"):
        load_issuer_keys_file(tmp_path)


def test_a_duplicate_keys_member_in_an_issuer_key_file_is_refused(tmp_path: Path) -> None:
    trusted, stranger = DeviceKey.generate(), DeviceKey.generate()
    path = tmp_path / "issuers.json"
    path.write_text(f'{{"keys": [{json.dumps(trusted.public_jwk())}], '
                    f'"keys": [{json.dumps(stranger.public_jwk())}]}}')
    with pytest.raises(CredentialError, match="keys: key appears twice"):
        load_issuer_keys_file(path)
    path.write_text('{"keys": ' + DEEP + "}")
    with pytest.raises(CredentialError, match="nested more than"):
        load_issuer_keys_file(path)


def test_one_key_listed_twice_or_with_a_bad_device_id_is_refused() -> None:
    key = DeviceKey.generate()
    jwk = key.public_jwk()
    with pytest.raises(CredentialError, match="listed twice"):
        load_issuer_keys({"keys": [{**jwk, "device_id": "a"}, {**jwk, "device_id": "b"}]})
    with pytest.raises(CredentialError, match="device_id must be a string"):
        load_issuer_keys({**jwk, "device_id": 7})


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _signed(key: DeviceKey, header: str, payload: str) -> str:
    """A compact JWS over exactly these header and payload texts, signed by `key`."""
    signing_input = f"{_b64(header.encode())}.{_b64(payload.encode())}"
    return f"{signing_input}.{_b64(key.sign(signing_input.encode('ascii')))}"


def _header(key: DeviceKey) -> str:
    return json.dumps({"alg": "EdDSA", "kid": key.key_id, "typ": "poh-credential+jwt"})


def _claims(**over: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {"iss": "dev", "sub": "s", "iat": T0, "nbf": T0, "exp": T0 + 60,
                              "jti": "j-1", "poh": {"live": True, "method": "PASSIVE"}}
    claims.update(over)
    return claims


def test_duplicate_claims_in_a_signed_token_are_refused() -> None:
    """PyJWT reads claims with json.loads (the last of two equal keys wins); another verifier
    may keep the first: a token whose claims read two ways is refused, even if signed."""
    key = DeviceKey.generate("dev")
    keys = load_issuer_keys(key.public_jwk())
    body = json.dumps(_claims(jti="j-revoked"))[:-1] + ', "jti": "j-fresh"}'
    token = _signed(key, _header(key), body)
    with pytest.raises(CredentialError, match="jti: key appears twice"):
        verify_credential(token, keys, frozenset({"j-fresh"}), now=T0)
    head = _header(key)[:-1] + ', "kid": "other"}'
    with pytest.raises(CredentialError, match="kid: key appears twice"):
        verify_credential(_signed(key, head, json.dumps(_claims())), keys, now=T0)
    # the same claims without the duplicate verify
    assert verify_credential(_signed(key, _header(key), json.dumps(_claims())), keys,
                             now=T0).jti == "j-1"


@pytest.mark.parametrize("over", [
    {"iat": "yesterday"}, {"exp": 10**17}, {"nbf": True}, {"iat": -1}, {"jti": 7},
    {"exp": 1e300},
])
def test_odd_claim_types_are_refused_not_crashed(over: dict[str, Any]) -> None:
    key = DeviceKey.generate("dev")
    token = _signed(key, _header(key), json.dumps(_claims(**over)))
    with pytest.raises(CredentialError):
        verify_credential(token, load_issuer_keys(key.public_jwk()), now=T0)


def test_true_is_not_an_age_or_a_sequence_number() -> None:
    key = DeviceKey.generate("dev")
    claims = _claims(poh={"live": True, "method": "PASSIVE", "age_over": True,
                          "verdict_seq": True})
    cred = verify_credential(_signed(key, _header(key), json.dumps(claims)),
                             load_issuer_keys(key.public_jwk()), now=T0)
    assert cred.age_over is None and cred.verdict_sequence is None


def test_a_public_key_json_is_read_strictly() -> None:
    key, other = DeviceKey.generate(), DeviceKey.generate()
    jwk = key.public_jwk()
    text = json.dumps(jwk)[:-1] + f', "x": "{other.public_jwk()["x"]}"}}'
    with pytest.raises(DeviceKeyError, match="x: key appears twice"):
        public_key_from_text(text)
    with pytest.raises(DeviceKeyError, match="nested more than"):
        public_key_from_text('{"keys": ' + "[" * 20_000 + "]" * 20_000 + "}")
    assert public_key_from_text(json.dumps(jwk)).public_bytes_raw() == \
        key.public.public_bytes_raw()


# ---- verdicts ---------------------------------------------------------------------------------

def _verdict_body(key: DeviceKey, workflow_version: int = 1) -> VerdictBody:
    return VerdictBody(
        session_id="s", vendor_data="v", status=SessionStatus.APPROVED, workflow_id="w",
        workflow_version=workflow_version,
        liveness=LivenessReport(status=FeatureStatus.APPROVED, method=LivenessMethod.PASSIVE,
                                score=90.0),
        face=None, age=None, warnings=(), reason=None, created_at=iso_utc(1.7e9),
        decided_at=iso_utc(1.7e9), device_id=key.device_id, sequence=1,
        idempotency_key=idempotency_key(key.device_id, "s"),
        challenge=ChallengeBinding(method=LivenessMethod.PASSIVE, nonce="ab" * 16),
        capture_source=CaptureSource(kind=CaptureKind.CAMERA, device_id=key.device_id,
                                     detail="camera 0"))


@pytest.mark.parametrize("raw", [
    DEEP.encode(), ('{"a":' + LONG_INT + "}").encode(), b'{"a":1,"a":1}', b'{"a":NaN}',
])
def test_verdict_files_that_crashed_the_reader_are_refused(raw: bytes) -> None:
    with pytest.raises(CanonicalError):
        parse_canonical(raw)
    with pytest.raises(VerdictError):
        verify_verdict_bytes(raw, DeviceKey.generate().public)


def test_a_verdict_refuses_integers_it_could_not_sign() -> None:
    key = DeviceKey.generate()
    signed = sign_verdict(_verdict_body(key, MAX_SAFE_INTEGER), key)
    assert verify_verdict_bytes(signed.to_bytes(), key.public).workflow_version == \
        MAX_SAFE_INTEGER
    with pytest.raises(ValueError, match="less than or equal"):
        _verdict_body(key, MAX_SAFE_INTEGER + 1)


# ---- workflows --------------------------------------------------------------------------------

def _wf(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"workflow_id": "t", "version": 1, "workflow_label": "test",
                            "features": [{"feature": "LIVENESS"}]}
    base.update(over)
    return base


@pytest.mark.parametrize(("doc", "field"), [
    (_wf(version=2**53), "version"),
    (_wf(version=MAX_SAFE_INTEGER + 1), "version"),
    (_wf(session={"expiry_seconds": 1e12}), "session.expiry_seconds"),
    (_wf(session={"abandon_after_seconds": 1e9}), "session.abandon_after_seconds"),
    (_wf(session={"capture_timeout_seconds": 1e9, "expiry_seconds": 1e9}), "session."),
    (_wf(attempt_limits={"window_seconds": 10**15}), "attempt_limits.window_seconds"),
    (_wf(attempt_limits={"per_person": 10**15}), "attempt_limits.per_person"),
    (_wf(attempt_limits={"per_device": 10**15}), "attempt_limits.per_device"),
    (_wf(credential={"accepted_methods": []}), "credential.accepted_methods"),
    (_wf(session={"expiry_seconds": float("inf")}), "not a JSON document"),
    (_wf(session={"expiry_seconds": float("nan")}), "not a JSON document"),
    (_wf(workflow_label={1, 2}), "not a JSON document"),
])
def test_workflow_numbers_are_bounded_and_finite(doc: dict[str, Any], field: str) -> None:
    with pytest.raises(WorkflowError) as err:
        parse_workflow(doc)
    assert field in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(("text", "says"), [
    (json.dumps(_wf())[:-1] + ', "session": {"expiry_seconds": 1e400}}',
     "session.expiry_seconds: number 1e400 is out of range (not a finite number)"),
    (json.dumps(_wf())[:-1] + f', "extra": {LONG_INT}}}', "extra: integer 1111"),
    (json.dumps(_wf())[:-1] + ', "x": ' + DEEP + "}", "nested more than"),
    (json.dumps(_wf(version=2**53)), "version: integer 9007199254740992 is out of range"),
    (json.dumps(_wf(session={"expiry_seconds": 1e300})),
     "session.expiry_seconds: Input should be less than or equal to 3600"),
])
def test_workflow_documents_that_crashed_are_refused(text: str, says: str) -> None:
    with pytest.raises(WorkflowError) as err:
        parse_workflow_document(text, "wf.json")
    assert says in str(err.value) and str(err.value).startswith("wf.json: ")


def test_what_a_workflow_accepts_can_be_signed() -> None:
    """The largest version validate accepts goes into a verdict and a credential claim."""
    wf = parse_workflow(_wf(version=MAX_SAFE_INTEGER,
                            session={"expiry_seconds": 3600, "abandon_after_seconds": 3600,
                                     "capture_timeout_seconds": 3600}))
    key = DeviceKey.generate()
    body = _verdict_body(key, wf.version)
    assert canonical_bytes(sign_verdict(body, key).wire())


def test_a_workflow_path_that_is_not_a_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WorkflowError, match="is a folder"):
        load_workflow(tmp_path)
    with pytest.raises(WorkflowError, match="not a regular file"):
        load_workflow(Path("/dev/zero"))
    with pytest.raises(WorkflowError, match="file name too long"):
        load_workflow(Path("w" * 4000))


# ---- configuration ----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "says"), [
    ('{"evidence": {"max_age_days": 1e400}}', "not a finite number"),
    ('{"evidence": {"max_age_days": NaN}}', "NaN is not a JSON number"),
    ('{"storage": {"index": {"min_graph_size": ' + LONG_INT + "}}}", "out of range"),
    ('{"storage": {"index": {"min_graph_size": 1e300}}}', "storage.index.min_graph_size"),
    ('{"evidence": ' + DEEP + "}", "nested more than"),
    ('{"inference": {"threads": 100000}}', "inference.threads"),
    ('{"inference": {"max_faces": 1}}', "inference.max_faces"),
    ('{"inference": {"landmark_roi_scale": 1e300}}', "inference.landmark_roi_scale"),
])
def test_configuration_numbers_are_bounded_and_finite(text: str, says: str) -> None:
    with pytest.raises(BadInputError) as err:
        parse_config(text, "config.json")
    assert says in str(err.value) and "\n" not in str(err.value)


def test_a_configuration_path_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="is a folder"):
        load_config(tmp_path)


# ---- capture recordings (and so evidence) -------------------------------------------------------

def _recording(tmp_path: Path) -> Path:
    plan = make_plan("FLASHING", bytes(16))
    cols, acts = plan_cues(plan, 1.0)
    frames = tuple(np.full((24, 24, 3), i * 20, np.uint8) for i in range(4))
    rec = Recording("FLASHING", plan.nonce, 30.0, (1.0, 1.1, 1.2, 1.3), frames, cols, acts)
    return write_recording(tmp_path / "r", rec)


@pytest.mark.parametrize("defect", ["duplicate", "deep", "digits", "infinite", "name"])
def test_capture_json_is_read_strictly(tmp_path: Path, defect: str) -> None:
    folder = _recording(tmp_path)
    manifest = folder / "capture.json"
    text = manifest.read_text().rstrip()[:-1]
    if defect == "duplicate":  # a second nonce: which one did the capture answer?
        text += ', "nonce": "' + "00" * 16 + '"}'
    elif defect == "deep":
        text += ', "extra": ' + DEEP + "}"
    elif defect == "digits":
        text += ', "extra": ' + LONG_INT + "}"
    elif defect == "infinite":
        text = text.replace('"fps": 30.0', '"fps": 1e400') + "}"
    else:
        doc = json.loads(manifest.read_text())
        doc["frames"][0]["file"] = "f" * 300 + ".png"
        text = json.dumps(doc)
    manifest.write_text(text if text.endswith("}") else text + "}")
    with pytest.raises(RecordingError) as err:
        read_recording(folder)
    assert "\n" not in str(err.value)


# ---- face counts ------------------------------------------------------------------------------

def test_a_frame_reports_every_face_found_not_only_those_analysed() -> None:
    assert FrameAnalysis((480, 640), (), detected=5).faces_found == 5
    assert FrameAnalysis((480, 640), ()).faces_found == 0


def test_the_device_key_record_is_read_strictly() -> None:
    secret = b"s" * 32
    key = DeviceKey.generate("dev-1")
    record = key.to_record(secret)
    assert DeviceKey.from_record(record, secret).key_id == key.key_id
    doc = json.loads(record)
    twice = record.decode()[:-1] + ', "device_id": "someone-else"}'
    for bad in (twice.encode(), b"[]", json.dumps({**doc, "created_at": "x"}).encode(),
                json.dumps({**doc, "pkcs8": 7}).encode(), DEEP.encode()[:60_000]):
        with pytest.raises(DeviceKeyError):
            DeviceKey.from_record(bad, secret)
