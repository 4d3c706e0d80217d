"""The hub's HTTP API (FastAPI, served by uvicorn): Didit-compatible decisions, session lists,
the standalone passive-liveness and face-search APIs, and the hub's OpenAPI spec.

`create_app(ctx)` in `app.py` builds the application; `serve.py` runs it under uvicorn.
"""
