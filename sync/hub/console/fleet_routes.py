"""The console's fleet pages: devices (status, backlog, workflow, last seen; revoke), workflow
publications, fleet-wide erasures with the booths' confirmations, and the webhook deliveries
(failed ones re-sendable with the same event id). Changes need the admin role; reviewers see
the pages. Mounted at /console by sync/hub/api/routers.py."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from sync.hub.api.context import HubCtx
from sync.hub.api.errors import HubInputError
from sync.hub.console import audit, fleet_ops
from sync.hub.console.web import (
    PREFIX,
    AdminSession,
    ConsoleRoute,
    Form,
    PageRefusal,
    Session,
    field,
    render,
)
from sync.hub.webhooks import admin as webhook_admin

router = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=ConsoleRoute)


@router.get("/devices")
def devices(request: Request, ctx: HubCtx, ws: Session) -> Response:
    return render(request, "devices.html", devices=fleet_ops.device_list(ctx.engine),
                  workflows=fleet_ops.workflows(ctx.engine, limit=20))


@router.post("/devices/{fleet}/{device}/revoke")
def revoke(request: Request, ctx: HubCtx, ws: AdminSession, form: Form, fleet: str,
           device: str) -> Response:
    try:
        fleet_ops.revoke(ctx.engine, ws.operator.name, fleet, device, field(form, "reason", 300))
    except fleet_ops.FleetOpsError as exc:
        raise PageRefusal(400, str(exc)) from None
    return render(request, "done.html", message=f"Device {fleet}/{device} revoked: every "
                  "later verdict of it is refused.", back=f"{PREFIX}/devices")


@router.get("/workflows")
def workflows(request: Request, ctx: HubCtx, ws: Session) -> Response:
    return render(request, "workflows.html", workflows=fleet_ops.workflows(ctx.engine),
                  devices=fleet_ops.device_list(ctx.engine))


@router.post("/workflows")
def publish(request: Request, ctx: HubCtx, ws: AdminSession, form: Form) -> Response:
    try:
        pub = fleet_ops.publish_workflow(ctx.engine, ws.operator.name, field(form, "fleet", 64),
                                         field(form, "document", fleet_ops.MAX_WORKFLOW_BYTES))
    except fleet_ops.FleetOpsError as exc:
        raise PageRefusal(400, str(exc)) from None
    return render(request, "done.html", message=f"Workflow publication {pub} queued: the hub "
                  "publishes it signed to the fleet, and each booth reports the version it "
                  "runs.", back=f"{PREFIX}/workflows")


@router.get("/erasures")
def erasures(request: Request, ctx: HubCtx, ws: Session) -> Response:
    return render(request, "erasures.html", erasures=fleet_ops.erasures(ctx.engine))


@router.post("/erasures")
def erase(request: Request, ctx: HubCtx, ws: AdminSession, form: Form) -> Response:
    try:
        rid = fleet_ops.request_erasure(ctx.engine, ws.operator.name, field(form, "fleet", 64),
                                        field(form, "vendor_data", 500),
                                        field(form, "reason", 1000))
    except fleet_ops.FleetOpsError as exc:
        raise PageRefusal(400, str(exc)) from None
    return render(request, "done.html", message=f"Erasure request {rid} queued: the fleet's "
                  "template worker erases the person at the hub and every booth confirms.",
                  back=f"{PREFIX}/erasures")


@router.get("/webhooks")
def deliveries(request: Request, ctx: HubCtx, ws: Session) -> Response:
    return render(request, "webhooks.html",
                  failed=webhook_admin.deliveries(ctx.engine, "failed", 100),
                  recent=webhook_admin.deliveries(ctx.engine, None, 100))


@router.post("/webhooks/{event_id}/resend")
def resend(request: Request, ctx: HubCtx, ws: AdminSession, form: Form, event_id: str
           ) -> Response:
    try:
        n = webhook_admin.resend(ctx.engine, event_id[:36])
    except HubInputError as exc:
        raise PageRefusal(400, str(exc)) from None
    audit.add(ctx.engine, ws.operator.name, "webhook_resend", event_id[:36], None,
              f"{n} deliveries queued")
    return render(request, "done.html", message=f"Event {event_id[:36]} queued again "
                  f"({n} deliveries, same event id).", back=f"{PREFIX}/webhooks")
