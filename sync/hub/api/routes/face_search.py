"""Didit's standalone POST /v3/face-search/ (multipart `user_image`): the upload's face, analysed
by the hub's own models, protected with the fleet's template rotation and searched 1:N in the
fleet index with the booths' workflow threshold. Only a hub whose fleet operator opted in
(`poh fleet hub-face-search`) can do it; any other hub answers 403 with the reason, never an
empty result. The image and its embedding live in memory for the request only."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, UploadFile

from sync.hub.api.auth import require_scope
from sync.hub.api.context import HubContext, HubCtx
from sync.hub.api.decisions import _match
from sync.hub.api.defs.errors import error_responses
from sync.hub.api.defs.face_search import (
    FaceSearchResponse,
    FaceSearchResult,
    FaceSearchWarning,
    SearchEntity,
    SearchUserImage,
)
from sync.hub.api.errors import ApiError
from sync.hub.api.fleet_search import FaceSearchDisabled
from sync.hub.api.keys import Scope
from sync.hub.api.routes.standalone import analysis, parse_metadata, read_image
from sync.hub.api.warning_texts import warning_object
from sync.hub.db import now_iso
from sync.vocabulary import FeatureStatus

router = APIRouter(tags=["standalone"])


def fleet_search(ctx: HubContext) -> Any:
    try:
        return ctx.fleet_search()
    except FaceSearchDisabled as exc:
        raise ApiError(403, str(exc), "face_search_not_enabled") from None


def _warning(code: str, status: FeatureStatus, extra: dict[str, Any] | None = None
             ) -> FaceSearchWarning:
    return FaceSearchWarning(**warning_object(code, status, "", extra).model_dump(
        exclude={"node_id", "feature", "additional_data"}), additional_data=extra)


@router.post("/v3/face-search/", response_model=FaceSearchResponse,
             dependencies=[Depends(require_scope(Scope.STANDALONE))],
             responses=error_responses(400, 401, 403, 503),
             summary="1:N search of one face in the fleet's enrolments (Didit standalone API)")
def face_search(
    ctx: HubCtx,
    user_image: Annotated[UploadFile, File(description="JPEG, PNG, WebP or TIFF, up to 5 MB")],
    search_type: Annotated[Literal["most_similar", "blocklisted_or_approved"], Form(
        description="most_similar, or blocklisted_or_approved (the fleet keeps approved "
                    "enrolments only and no blocklist: both search the same templates)")
    ] = "most_similar",
    rotate_image: Annotated[bool, Form()] = False,
    save_api_request: Annotated[bool, Form()] = True,
    vendor_data: Annotated[str | None, Form(max_length=500)] = None,
    metadata: Annotated[str | None, Form(description="a JSON object")] = None,
) -> FaceSearchResponse:
    meta = parse_metadata(metadata)
    image = read_image(ctx, user_image)
    searcher = fleet_search(ctx)  # refused before any face is analysed
    pipeline = analysis(ctx)  # compiled on first use: not part of the measured time
    with ctx.metrics.inference_time("face_search"):
        face = pipeline.search_face(image, rotate_image)
    entities = [SearchEntity(
        bbox=[int(f.detection.box.x1), int(f.detection.box.y1), int(f.detection.box.x2),
              int(f.detection.box.y2)],
        confidence=round(float(f.detection.score), 6)) for f in face.faces]
    warnings: list[FaceSearchWarning] = []
    matches = []
    if face.embedding is None:
        status = FeatureStatus.DECLINED
        code = "MULTIPLE_FACES_DETECTED" if len(face.faces) > 1 else "NO_FACE_DETECTED"
        warnings.append(_warning(code, status))
    else:
        hits = searcher.search(face.embedding)
        # the booths' default workflow puts a possible duplicate In Review (NIST SP 800-63A-4:
        # a trained human before a 1:N decline); no match is an approval
        status = FeatureStatus.IN_REVIEW if hits else FeatureStatus.APPROVED
        with ctx.engine.connect() as conn:
            matches = [_match(conn, h.session_id, h.vendor_data, h.cosine, False) for h in hits]
        if hits:
            warnings.append(_warning("POSSIBLE_DUPLICATED_FACE", status, {
                "duplicated_session_id": hits[0].session_id}))
    return FaceSearchResponse(
        request_id=str(uuid.uuid4()),
        face_search=FaceSearchResult(
            status=status.value, total_matches=len(matches), matches=matches,
            user_image=SearchUserImage(entities=entities, best_angle=face.best_angle),
            warnings=warnings),
        vendor_data=vendor_data, metadata=meta, created_at=now_iso())

