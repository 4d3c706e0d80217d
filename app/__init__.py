"""The kiosk: workflows, sessions, capture, the CLI and the Qt UI."""
