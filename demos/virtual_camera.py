"""Your webcam, made up, as a virtual camera for Zoom, Meet or Teams.

    python demos/virtual_camera.py [LOOK]

Needs a virtual camera device: v4l2loopback (loaded with exclusive_caps=1) on Linux, OBS 30+ on Windows and macOS.
Ctrl+C stops it cleanly.
"""

import sys

import tryon
from tryon.live import LiveLoop
from tryon.sinks.virtualcam import VirtualCameraSink
from tryon.sources import open_source

look = sys.argv[1] if len(sys.argv) > 1 else "natural"
camera = open_source(0, size=(1280, 720))
virtual = VirtualCameraSink(camera.size, fps=30)  # sends at a steady 30 fps, repeating frames on hiccups
print(f"streaming to {virtual.device}; pick it in your video-call app")
with tryon.Pipeline(look=look, mode="video") as pipe:
    LiveLoop(pipe, camera, [virtual]).run()  # closes the camera and the virtual camera on the way out
