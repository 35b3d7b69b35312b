"""A webcam makeup mirror in a few lines of tryon's public API.

    python demos/webcam_demo.py            # camera 0
    python demos/webcam_demo.py clip.mp4   # or a video file

Keys: n next look, b before/after, q quit.
"""

import sys

import cv2

import tryon
from tryon.sources import open_source

LOOKS = ["natural", "evening", "bold_red", "smoky_eye", "glam"]

source = open_source(sys.argv[1] if len(sys.argv) > 1 else 0)
index, compare = 0, False
with source, tryon.Pipeline(look=LOOKS[index], mode="video") as pipe:
    for frame in source:
        out = pipe.process(frame.image, timestamp=frame.timestamp)
        if compare:  # original on the left half
            half = out.shape[1] // 2
            out[:, :half] = frame.image[:, :half]
        cv2.imshow("tryon", out)
        key = cv2.waitKey(1) & 0xFF
        if key == ord("q"):
            break
        if key == ord("n"):
            index = (index + 1) % len(LOOKS)
            pipe.set_look(LOOKS[index])
        if key == ord("b"):
            compare = not compare
cv2.destroyAllWindows()
