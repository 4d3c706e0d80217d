"""The kiosk screen (PySide6): the only package, with app.kiosk_main, that imports Qt.

It observes the session flow's events and draws them; the flow, the camera and the inference run
on their own threads (app.ui.booth). See README "Daily operation" and docs/design.md.
"""
