"""The API's routes, one small module per resource; their wire models are in sync.hub.api.defs."""
