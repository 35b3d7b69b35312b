from __future__ import annotations

import threading
import warnings

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tryon.errors import ImageReadError, ImageWriteError, InputError
from tryon.image import read_alpha, read_image, to_bgr8, write_image, write_images

DTYPES = [np.uint8, np.uint16, np.float16, np.float32, np.float64, np.bool_]


@settings(max_examples=60, deadline=None)
@given(
    dtype=st.sampled_from(DTYPES),
    h=st.integers(16, 64),
    w=st.integers(16, 64),
    channels=st.sampled_from([None, 1, 3, 4]),
    data=st.data(),
)
def test_any_supported_frame_becomes_contiguous_bgr8(dtype, h, w, channels, data):
    shape = (h, w) if channels is None else (h, w, channels)
    if dtype in (np.float16, np.float32, np.float64):
        elements = st.floats(0.0, 1.0, width=16 if dtype is np.float16 else 32)
    elif dtype is np.bool_:
        elements = st.booleans()
    else:
        elements = st.integers(0, int(np.iinfo(dtype).max))
    frame = data.draw(hnp.arrays(dtype, shape, elements=elements))
    out = to_bgr8(frame)
    assert out.dtype == np.uint8
    assert out.shape == (h, w, 3)
    assert out.flags.c_contiguous
    # And the values: each kind scaled to 0..255 (within a level of rounding), grey spread over B, G and R, BGR(A)
    # kept in its order with the alpha dropped
    expected = _reference_bgr8(frame)
    assert np.abs(out.astype(np.int16) - expected).max() <= 1


def _reference_bgr8(frame: np.ndarray) -> np.ndarray:
    """What ``to_bgr8`` should give, computed the plain way."""
    if frame.dtype == np.bool_:
        scaled = frame.astype(np.float64) * 255.0
    elif frame.dtype == np.uint16:
        scaled = frame.astype(np.float64) * (255.0 / 65535.0)
    elif frame.dtype == np.uint8:
        scaled = frame.astype(np.float64)
    else:
        scaled = frame.astype(np.float64) * 255.0
    values = np.rint(np.clip(scaled, 0, 255)).astype(np.int16)
    if values.ndim == 3 and values.shape[2] == 1:
        values = values[:, :, 0]
    if values.ndim == 2:
        return np.repeat(values[:, :, None], 3, axis=2)
    return values[:, :, :3]


def test_uint16_is_scaled_not_truncated():
    frame = np.full((20, 20, 3), 65535, np.uint16)
    assert to_bgr8(frame).min() == 255
    assert to_bgr8(np.full((20, 20), 257 * 100, np.uint16)).max() == 100


def test_float_frames_a_little_outside_0_1_saturate():
    frame = np.full((20, 20, 3), 1.1, np.float32)
    frame[0, 0] = -0.1  # a resampling overshoot
    out = to_bgr8(frame)
    assert out[0, 0].max() == 0 and out[1, 1].min() == 255


@pytest.mark.parametrize("dtype", [">u2", ">f4", ">f8"])
def test_big_endian_frames_are_read_like_native_ones(dtype):
    native = np.random.default_rng(0).random((20, 20, 3))
    values = native * 65535 if dtype == ">u2" else native
    frame = values.astype(dtype)
    np.testing.assert_array_equal(to_bgr8(frame), to_bgr8(frame.astype(frame.dtype.newbyteorder("="))))


def test_bgr8_input_is_returned_as_is():
    frame = np.zeros((20, 30, 3), np.uint8)
    assert to_bgr8(frame) is frame


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ([[1, 2], [3, 4]], "numpy array"),
        (np.zeros((20, 20, 2), np.uint8), "shape"),
        (np.zeros((20, 20, 3, 1), np.uint8), "shape"),
        (np.zeros((8, 20, 3), np.uint8), "between 16 and"),
        (np.zeros((20, 20, 3), np.int64), "dtype"),
        (np.full((20, 20, 3), np.nan, np.float32), "NaN"),
        (np.zeros((20, 20, 3), np.complex64), "dtype"),
        # 0..255 values in a float frame came out almost white, with no word
        (np.full((20, 20, 3), 128.0, np.float32), r"values in \[0, 1\], got 128 to 128 \(0\.\.255 values: divide"),
        (np.full((20, 20, 3), -1.0, np.float64), r"values in \[0, 1\], got -1 to -1$"),
    ],
)
def test_bad_frames_are_refused_with_what_came(frame, message):
    with pytest.raises(InputError, match=message):
        to_bgr8(frame)


def test_read_image_errors_name_the_file(tmp_path):
    missing = tmp_path / "nope.jpg"
    with pytest.raises(ImageReadError, match=r"nope\.jpg: no such file"):
        read_image(missing)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty"):
        read_image(empty)
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg" * 10)
    with pytest.raises(ImageReadError, match=r"corrupt\.jpg: a corrupt or truncated JPEG file"):
        read_image(corrupt)
    text = tmp_path / "notes.png"
    text.write_text("not an image at all")
    with pytest.raises(ImageReadError, match=r"notes\.png: not a readable image \(supported: \.bmp"):
        read_image(text)


@pytest.mark.parametrize(("suffix", "kind"), [(".jpg", "JPEG"), (".png", "PNG"), (".webp", "WebP"), (".tif", "TIFF")])
def test_a_truncated_image_is_called_truncated_not_unsupported(tmp_path, suffix, kind):
    frame = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    ok, data = cv2.imencode(suffix, frame)
    assert ok
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(data.tobytes()[:40])  # the header, and little of the rest
    with pytest.raises(ImageReadError, match=rf"cut\{suffix}: a corrupt or truncated {kind} file"):
        read_image(cut)


def test_write_image_round_trip_and_atomicity(tmp_path):
    frame = np.random.default_rng(0).integers(0, 255, (32, 48, 3), dtype=np.uint8)
    path = write_image(tmp_path / "x.png", frame)
    assert np.array_equal(read_image(path), frame)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png"]  # no temporary file left behind
    with pytest.raises(ImageWriteError, match=r"unsupported image type"):
        write_image(tmp_path / "x.txt", frame)
    with pytest.raises(ImageWriteError, match="does not exist"):
        write_image(tmp_path / "missing" / "x.png", frame)


def test_write_images_keeps_a_file_it_was_to_replace_when_another_target_is_a_folder(tmp_path):
    frame = np.zeros((32, 32, 3), np.uint8)
    old = tmp_path / "labels.png"
    old.write_bytes(b"OLD")
    (tmp_path / "viz.png").mkdir()
    with pytest.raises(ImageWriteError, match=r"viz\.png: is a folder"):
        write_images([(old, frame), (tmp_path / "viz.png", frame)])
    # Before: the labels were replaced, then deleted with the rest of the set when the overlay failed
    assert old.read_bytes() == b"OLD"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.png", "viz.png"]
    assert write_images([]) == []


@pytest.mark.parametrize("orientation", [1, 2, 3, 6, 8])
def test_read_alpha_turns_the_alpha_as_the_colours_are_turned(tmp_path, orientation):
    from PIL import Image

    # Given an RGBA PNG stored turned, with an EXIF orientation: upright, its left half is transparent, and a red
    # mark sits in its top-left corner
    upright = np.zeros((40, 60, 4), np.uint8)
    upright[:, :, :3] = 200
    upright[:, 30:, 3] = 255
    upright[:8, :8] = (0, 0, 255, 0)  # BGR red, transparent
    stored = {
        1: upright,
        2: upright[:, ::-1],
        3: upright[::-1, ::-1],
        6: np.rot90(upright, 1),
        8: np.rot90(upright, -1),
    }[orientation]
    path = tmp_path / "turned.png"
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(np.ascontiguousarray(stored[:, :, [2, 1, 0, 3]]), "RGBA").save(path, exif=exif.tobytes())
    # When the colours and the alpha are read
    bgr = read_image(path)
    alpha = read_alpha(path, bgr.shape)
    # Then both are upright, together: the red corner is where the alpha is clear (before: the alpha stayed as stored)
    assert bgr.shape[:2] == (40, 60) and alpha is not None
    assert bgr[2, 2, 2] > 200 and bgr[2, 2, 0] < 50
    np.testing.assert_array_equal(alpha, upright[:, :, 3])


def test_read_alpha_ignores_an_alpha_that_is_opaque_everywhere(tmp_path):
    path = tmp_path / "opaque.png"
    cv2.imwrite(str(path), np.full((32, 32, 4), 255, np.uint8))
    assert read_alpha(path, (32, 32, 3)) is None


def test_reading_images_from_several_threads_leaves_the_warning_filters_as_they_were(tmp_path):
    # Given JPEG and WebP files (Pillow reads their EXIF orientation and size, its warnings silenced meanwhile)
    paths = []
    for i, ext in enumerate(("jpg", "webp", "png")):
        path = tmp_path / f"{i}.{ext}"
        cv2.imwrite(str(path), np.full((48, 64, 3), 40 * i, np.uint8))
        paths.append(path)
    before = list(warnings.filters)

    # When six threads read them over and over at once
    def work() -> None:
        for _ in range(40):
            for path in paths:
                read_image(path)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then no thread put back another's filters (catch_warnings swaps the process's list): none left on, none lost
    assert warnings.filters == before
