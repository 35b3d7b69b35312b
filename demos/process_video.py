"""Apply a look to a video file, frame by frame, with a progress line.

    python demos/process_video.py input.mp4 output.mp4 [LOOK]

The output is H.264 in fragmented MP4: playable even if the run is interrupted.
"""

import sys

import tryon
from tryon.sinks.video import VideoFileSink
from tryon.sources import open_source

src, dst = sys.argv[1], sys.argv[2]
look = sys.argv[3] if len(sys.argv) > 3 else "evening"
with open_source(src) as video, VideoFileSink(dst, fps=video.fps) as out, tryon.Pipeline(look=look) as pipe:
    for frame in video:
        out.write(pipe.process(frame.image, timestamp=frame.timestamp))
        print(f"\rframe {frame.index + 1}", end="", file=sys.stderr)
print(file=sys.stderr)
