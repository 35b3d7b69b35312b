"""A folder of photos as the live apps show it: unreadable photos are skipped with a warning each, once; a folder
with nothing to show is an error that says why."""

from __future__ import annotations

import logging
import threading

import cv2
import numpy as np
import pytest

from tryon.errors import SourceError
from tryon.sources.photos import FolderSource

#: Unreadable photos: file name, content, what the warning says about it.
UNREADABLE = [
    ("0_empty.jpg", b"", "the file is empty"),
    ("2_text.png", b"not a photo", "not a readable image (supported: "),
    ("3_tiny.png", cv2.imencode(".png", np.zeros((1, 1, 3), np.uint8))[1].tobytes(), "got 1x1"),
]


def _photo(path, shade: int) -> None:
    cv2.imwrite(str(path), np.full((48, 64, 3), shade, np.uint8))


def test_each_unreadable_photo_is_a_warning_once_and_left_out_of_the_slideshow(tmp_path, caplog):
    # Given a folder of two photos and three unreadable files, one of them before the first photo
    _photo(tmp_path / "1_photo.png", 40)
    _photo(tmp_path / "4_photo.png", 100)
    for name, content, _ in UNREADABLE:
        (tmp_path / name).write_bytes(content)
    # When it is shown round and round, three times
    with caplog.at_level(logging.WARNING, logger="tryon"), FolderSource(tmp_path, repeat=True) as src:
        frames = [src.read() for _ in range(6)]
    # Then only the photos were shown
    assert [f.name for f in frames if f is not None] == ["1_photo.png", "4_photo.png"] * 3
    # And each unreadable file was one warning, with its name and why, the first round only
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == len(UNREADABLE) == len(src.failures), warnings
    for (name, _, why), warning in zip(UNREADABLE, warnings):
        assert warning.startswith(str(tmp_path / name)) and why in warning and warning.endswith("; skipped")


def test_a_folder_of_unreadable_photos_is_an_error_that_says_why(tmp_path, caplog):
    # Given a folder whose every photo is unreadable
    for name, content, _ in UNREADABLE:
        (tmp_path / name).write_bytes(content)
    # When it is opened, then the error counts them and says why, the reasons being in the error (no warnings)
    with caplog.at_level(logging.WARNING, logger="tryon"), pytest.raises(SourceError) as raised:
        FolderSource(tmp_path, repeat=True, seconds_each=3.0)
    message = str(raised.value)
    assert message.startswith(f"{tmp_path}: none of its 3 photos could be read (")
    for name, _, why in UNREADABLE:
        assert f"{tmp_path / name}" in message and why in message
    assert not caplog.records


def test_a_slideshow_whose_photos_all_went_bad_stops_with_an_error(tmp_path):
    # Given a repeating folder whose photos are deleted once it has started
    for i in range(2):
        _photo(tmp_path / f"{i}.png", 40 + 60 * i)
    src = FolderSource(tmp_path, repeat=True)
    assert src.read() is not None
    for path in tmp_path.iterdir():
        path.unlink()
    # When the next frame is read (on a thread: a source going round forever would never return)
    raised: list[BaseException] = []

    def read() -> None:
        try:
            src.read()
        except BaseException as exc:
            raised.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(30.0)
    src.close()
    # Then the source fails, saying so, instead of looking for a readable photo forever
    assert not reader.is_alive(), "the read never returned"
    assert len(raised) == 1 and isinstance(raised[0], SourceError)
    assert str(raised[0]) == f"{tmp_path}: none of its 2 photos can be read any more"
