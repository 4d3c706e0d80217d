"""Didit's standalone POST /v3/passive-liveness/ (multipart `user_image`), run by the hub's own
models. The image is analysed in memory and never stored (save_api_request is accepted for
compatibility; nothing is saved either way)."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

import cv2
import numpy as np
from fastapi import APIRouter, Depends, File, Form, UploadFile

from sync.hub.api.auth import require_scope
from sync.hub.api.context import HubContext, HubCtx
from sync.hub.api.defs.errors import error_responses
from sync.hub.api.defs.response import (
    FaceEntity,
    PassiveLivenessResponse,
    PassiveLivenessResult,
    StandaloneWarning,
    UserImage,
)
from sync.hub.api.errors import ApiError
from sync.hub.api.keys import Scope
from sync.hub.api.standalone_engine import ModelsUnavailable
from sync.hub.api.warning_texts import warning_object
from sync.hub.db import now_iso
from sync.vocabulary import FeatureStatus

router = APIRouter(tags=["standalone"])
ALLOWED = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"II*\x00", b"MM\x00*")  # JPEG PNG TIFF


def read_image(ctx: HubContext, upload: UploadFile) -> np.ndarray:
    """The upload as a BGR image; 400 (Didit's answer) for too large or not an image."""
    limit = ctx.limits.max_image_bytes
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise ApiError(400, f"user_image: larger than {limit // (1024 * 1024)} MB",
                       "file_too_large")
    is_webp = data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    if not (is_webp or data.startswith(ALLOWED)):
        raise ApiError(400, "user_image: allowed formats are JPEG, PNG, WebP and TIFF",
                       "invalid_image")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise ApiError(400, "user_image: the file could not be decoded as an image",
                       "invalid_image")
    return image


def parse_metadata(text: str | None) -> dict[str, Any] | None:
    if text is None or text == "":
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise ApiError(400, "metadata: give a JSON object", "invalid_request")
    return doc


def analysis(ctx: HubContext) -> Any:
    try:
        return ctx.analysis()
    except ModelsUnavailable as exc:
        raise ApiError(503, f"face models not available at this hub: {exc}",
                       "service_unavailable") from None


@router.post("/v3/passive-liveness/", response_model=PassiveLivenessResponse,
             dependencies=[Depends(require_scope(Scope.STANDALONE))],
             responses=error_responses(400, 401, 403, 503),
             summary="Passive liveness of one face image (Didit standalone API)")
def passive_liveness(
    ctx: HubCtx,
    user_image: Annotated[UploadFile, File(description="JPEG, PNG, WebP or TIFF, up to 5 MB")],
    face_liveness_score_decline_threshold: Annotated[int | None, Form(ge=0, le=100)] = None,
    rotate_image: Annotated[bool, Form()] = False,
    save_api_request: Annotated[bool, Form()] = True,
    vendor_data: Annotated[str | None, Form(max_length=500)] = None,
    metadata: Annotated[str | None, Form(description="a JSON object")] = None,
) -> PassiveLivenessResponse:
    meta = parse_metadata(metadata)
    image = read_image(ctx, user_image)
    pipeline = analysis(ctx)  # compiled on first use: not part of the measured time
    with ctx.metrics.inference_time("passive_liveness"):
        outcome = pipeline.passive(
            image, None if face_liveness_score_decline_threshold is None
            else float(face_liveness_score_decline_threshold))
    status = FeatureStatus(outcome.status)
    warnings = [StandaloneWarning(**warning_object(c, status, "").model_dump(
        exclude={"node_id"})) for c in outcome.warnings]
    entities = [FaceEntity(
        age=round(float(f.age), 2) if f.age is not None else None,
        bbox=[int(f.detection.box.x1), int(f.detection.box.y1), int(f.detection.box.x2),
              int(f.detection.box.y2)],
        confidence=round(float(f.detection.score), 6)) for f in outcome.faces]
    luma = outcome.face_luma
    return PassiveLivenessResponse(
        request_id=str(uuid.uuid4()),
        liveness=PassiveLivenessResult(
            status=status.value, score=outcome.score,
            user_image=UserImage(entities=entities), warnings=warnings,
            face_quality=None,
            face_luminance=round(luma / 255 * 100, 2) if luma is not None else None),
        vendor_data=vendor_data, metadata=meta, created_at=now_iso())
