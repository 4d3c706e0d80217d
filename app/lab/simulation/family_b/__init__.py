"""Evaluation family B for active liveness: a renderer written apart from the tuning simulator
(app/lab/simulation/flash, render3d). It shares only the capture format (app.capture.recording)
and the challenge plan (app.capture.plan) with it: its faces are 2.5D surfaces built from the
478-point mesh of sample portraits, its camera has a rolling shutter, drifting auto exposure and
white balance, a Bayer mosaic, noise, sharpening and MJPEG, its attacks are other print and
screen models. Thresholds tuned on one family are reported on the other.
"""
