"""Parsing: per-pixel classes and effect regions of a frame, as validated value objects."""

from tryon.parsing.classes import CLASSES, REGIONS, class_index, legend
from tryon.parsing.frame_parse import Face, FrameParse
from tryon.parsing.landmarks import LandmarkParser, LandmarkParserOptions
from tryon.parsing.parser import LandmarkFrameParser, ParserOptions

__all__ = [
    "CLASSES",
    "REGIONS",
    "class_index",
    "legend",
    "Face",
    "FrameParse",
    "LandmarkParser",
    "LandmarkParserOptions",
    "LandmarkFrameParser",
    "ParserOptions",
]
