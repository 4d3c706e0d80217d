"""The closed-loop simulated camera: the 3D-scan simulator as a camera in front of the kiosk's
own screen, lit at each exposure by whatever the screen presented (app/capture/screen_timeline)
and following the action prompts it shows. Lab only: it reports CaptureKind.SIMULATION, so a
verdict on its frames is signed only with a scratch key.

Entry point: `factory.sim_capture_factory("sim:SPECIES[:SEED]", timeline, ...)`.
"""
