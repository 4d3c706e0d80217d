"""Wire payloads, signatures, credentials, MQTT sync and the hub."""
