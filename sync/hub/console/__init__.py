"""The hub's review console and fleet operations: operator accounts, web sessions with CSRF
tokens, the In Review queue and reviewers' decisions (to the integrator by webhook, to the
booth by a signed command), the audit log, and the fleet's devices, workflows and erasures.

Web pages: routes.py (the queue) and fleet_routes.py (devices, workflows, erasures, webhook
deliveries), mounted by sync/hub/api/routers.py. What reaches the booths is published by the
ops worker (ops_worker.py) that `poh hub run` starts beside its ingest: the console itself only
writes the hub database, so a decision taken while the broker is down is not lost.
"""
