"""A Qt-free kiosk for the lab: a headless screen that presents challenge plans at their planned
times (recording what it presented, as the Qt screen does) and a runner that drives whole
sessions through the real camera thread, session worker and flow with the closed-loop camera.
"""
