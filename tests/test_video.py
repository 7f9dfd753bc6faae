"""analyzer.video against synthetic clips from tests/clipfactory.py (all written under tmp_path).

Measured values and their tolerances:
- square / marker centroids: within 1.5 px of where they were drawn (lossy codecs and GIF's palette
  blur edges but keep centroids);
- frame times: within 1 ms of the presentation timestamps written, relative to the first frame;
- downscaled sizes: exact expected shape; the short side within 1 px of the aspect-true value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest

from analyzer.errors import (
    AnalyzerError,
    EmptyVideoError,
    InputNotFoundError,
    LimitExceededError,
    NotAVideoError,
    VideoDecodeError,
)
from analyzer.video import DecodeStats, Frame, VideoLimits, VideoWriter, iter_frames, probe
from tests import clipfactory as cf

PX_TOL = 1.5  # pixels, centroid of a drawn shape after encode + decode
T_TOL = 1e-3  # seconds, decoded time against the timestamp written


def bright_centroid(image: np.ndarray, threshold: int = 160) -> tuple[float, float]:
    """(x, y) in pixels of the mean position of pixels brighter than ``threshold`` (grey level)."""
    ys, xs = np.nonzero(image.mean(axis=2) > threshold)
    assert xs.size, "no bright pixels in the frame"
    return float(xs.mean()), float(ys.mean())


def square_centre(index: int, width: int, height: int) -> tuple[float, float]:
    """Where clipfactory drew the centre of the moving square in frame ``index``."""
    half = (cf.SQUARE - 1) / 2
    return cf.square_x(index, width) + half, (height - cf.SQUARE) // 2 + half


def decode_all(path: Path, **kwargs: object) -> tuple[list[Frame], DecodeStats]:
    stats = DecodeStats()
    frames = list(iter_frames(path, stats, **kwargs))  # type: ignore[arg-type]
    return frames, stats


# --- codecs -------------------------------------------------------------------------------------------

CODEC_CASES = [
    # codec, file name, container override, probe's codec name
    ("h264", "h264.mp4", None, "h264"),
    ("h264", "h264.mkv", None, "h264"),
    ("hevc", "hevc.mp4", None, "hevc"),
    ("vp9", "vp9.webm", None, "vp9"),
    ("vp9", "vp9.mp4", None, "vp9"),
    ("mpeg4", "mpeg4.mp4", None, "mpeg4"),
    ("mpeg4", "mpeg4.avi", None, "mpeg4"),
    ("gif", "anim.gif", None, "gif"),
    ("h264", "h264_as.bin", "mp4", "h264"),  # suffix says nothing; the muxer was forced
]


@pytest.mark.parametrize(("codec", "name", "container", "probed"), CODEC_CASES,
                         ids=[c[1] for c in CODEC_CASES])
def test_every_codec_decodes_every_frame_in_order(
    tmp_path: Path, codec: str, name: str, container: str | None, probed: str
) -> None:
    clip = cf.solid_clip(tmp_path / name, codec=codec, size=(64, 48), n=12, fps=25, container=container)

    info = probe(clip.path)
    frames, stats = decode_all(clip.path)

    assert (info.codec, info.width, info.height, info.rotation_deg) == (probed, 64, 48, 0)
    assert info.frame_count == 12
    assert info.nominal_fps == pytest.approx(25.0, abs=0.01)
    assert (stats.decoded, stats.lost, stats.timestamp_fixes) == (12, 0, 0)
    assert [f.index for f in frames] == list(range(12))
    for frame, t_written in zip(frames, clip.times, strict=True):
        assert frame.image.shape == (48, 64, 3)
        assert frame.image.dtype == np.uint8
        assert frame.image.flags.c_contiguous
        assert frame.t == pytest.approx(t_written, abs=T_TOL)
        x, y = bright_centroid(frame.image)
        want_x, want_y = square_centre(frame.index, 64, 48)
        assert abs(x - want_x) <= PX_TOL and abs(y - want_y) <= PX_TOL, (frame.index, x, y)


# --- rotation -----------------------------------------------------------------------------------------

ROTATION_CASES = [
    # display rotation (ccw deg), probe's rotation_deg, upright (w, h), marker centre upright (x, y)
    (0, 0, (64, 48), (7.5, 7.5)),  # top-left stays top-left
    (-90, 270, (48, 64), (40.5, 7.5)),  # phone portrait: 90 deg clockwise, top-left -> top-right
    (90, 90, (48, 64), (7.5, 56.5)),  # 90 deg counter-clockwise: top-left -> bottom-left
    (180, 180, (64, 48), (56.5, 40.5)),  # top-left -> bottom-right
]


@pytest.mark.parametrize(("rotation", "probed", "size", "marker"), ROTATION_CASES,
                         ids=[f"rot{c[0]}" for c in ROTATION_CASES])
def test_rotated_clips_come_out_upright(
    tmp_path: Path, rotation: int, probed: int, size: tuple[int, int], marker: tuple[float, float]
) -> None:
    clip = cf.rotated_portrait_clip(tmp_path / "rot.mp4", rotation=rotation, size=(64, 48), n=4)

    info = probe(clip.path)
    frames, _ = decode_all(clip.path)

    assert (info.rotation_deg, (info.width, info.height)) == (probed, size)
    assert len(frames) == 4
    for frame in frames:
        assert frame.image.shape == (size[1], size[0], 3)
        assert frame.image.flags.c_contiguous
        x, y = bright_centroid(frame.image)
        assert abs(x - marker[0]) <= PX_TOL and abs(y - marker[1]) <= PX_TOL, (x, y)


# --- variable frame rate ------------------------------------------------------------------------------

VFR_CASES = [
    # gaps between frames (ms), first timestamp (ms)
    ((20, 50), 0),
    ((20, 50), 1234),  # a clip cut from a longer one: times still start at 0
    ((33, 17, 50, 8), 0),
]


@pytest.mark.parametrize(("gaps_ms", "start_ms"), VFR_CASES)
def test_vfr_times_are_the_presentation_timestamps(
    tmp_path: Path, gaps_ms: tuple[int, ...], start_ms: int
) -> None:
    clip = cf.vfr_clip(tmp_path / "vfr.mp4", n=20, gaps_ms=gaps_ms, start_ms=start_ms)

    frames, stats = decode_all(clip.path)

    assert (stats.decoded, stats.lost, stats.timestamp_fixes) == (20, 0, 0)
    got = np.array([f.t for f in frames])
    assert got[0] == 0.0
    assert np.max(np.abs(got - np.array(clip.times))) <= T_TOL


# --- padded rows / odd widths -------------------------------------------------------------------------

ODD_WIDTH_CASES = [
    # (width, height), codec, suffix: widths that are not multiples of 32 come with padded rows
    ((166, 360), "h264", "mp4"),
    ((202, 360), "h264", "mp4"),
    ((165, 361), "h264_444", "mp4"),  # truly odd: yuv444p has no chroma subsampling
    ((165, 360), "mpeg4", "mp4"),
    ((201, 359), "mpeg4", "avi"),
]


@pytest.mark.parametrize(("size", "codec", "suffix"), ODD_WIDTH_CASES,
                         ids=[f"{c[0][0]}x{c[0][1]}-{c[1]}" for c in ODD_WIDTH_CASES])
def test_padded_widths_come_out_c_contiguous(
    tmp_path: Path, size: tuple[int, int], codec: str, suffix: str
) -> None:
    width, height = size
    clip = cf.odd_width_clip(tmp_path / f"odd.{suffix}", size=size, n=3, codec=codec)

    info = probe(clip.path)
    frames, stats = decode_all(clip.path)

    assert (info.width, info.height) == size
    assert stats.decoded == 3
    for frame in frames:
        assert frame.image.shape == (height, width, 3)
        assert frame.image.flags.c_contiguous
        assert frame.image.strides == (width * 3, 3, 1)
        x, y = bright_centroid(frame.image)  # a row-padding mix-up would shear the square away
        want_x, want_y = square_centre(frame.index, width, height)
        assert abs(x - want_x) <= PX_TOL and abs(y - want_y) <= PX_TOL, (frame.index, x, y)


# --- brightness plane (the plate search) --------------------------------------------------------------


@pytest.mark.parametrize(("size", "codec", "suffix"), ODD_WIDTH_CASES,
                         ids=[f"{c[0][0]}x{c[0][1]}-{c[1]}" for c in ODD_WIDTH_CASES])
def test_luma_frames_match_the_rgb_ones(tmp_path: Path, size: tuple[int, int], codec: str, suffix: str) -> None:
    """The Y plane read straight from the decoder (padded rows cropped), or a grey conversion for formats
    without one, shows the same picture as the RGB frames: same size and the square in the same place."""
    width, height = size
    clip = cf.odd_width_clip(tmp_path / f"odd.{suffix}", size=size, n=3, codec=codec)
    rgb, _ = decode_all(clip.path)
    luma, stats = decode_all(clip.path, luma=True, max_side=50)  # max_side is ignored: full size
    assert stats.decoded == 3 and [f.index for f in luma] == [f.index for f in rgb]
    for grey, colour in zip(luma, rgb, strict=True):
        assert grey.image.shape == (height, width) and grey.image.dtype == np.uint8
        assert grey.image.flags.c_contiguous
        # the Y plane is in video range (16-235) and weighs the colours its own way: the same picture, not
        # the same numbers
        assert np.corrcoef(grey.image.ravel().astype(float), colour.image.mean(axis=2).ravel())[0, 1] > 0.98
        x, y = bright_centroid(np.repeat(grey.image[..., None], 3, axis=2))
        want_x, want_y = square_centre(grey.index, width, height)
        assert abs(x - want_x) <= PX_TOL and abs(y - want_y) <= PX_TOL, (grey.index, x, y)


@pytest.mark.parametrize(("rotation", "probed", "size", "marker"), ROTATION_CASES[1:2],
                         ids=["rot-90"])
def test_luma_frames_are_upright_and_only_the_asked_indices(
    tmp_path: Path, rotation: int, probed: int, size: tuple[int, int], marker: tuple[float, float]
) -> None:
    clip = cf.rotated_portrait_clip(tmp_path / "rot.mp4", rotation=rotation, size=(64, 48), n=4)
    frames, _ = decode_all(clip.path, luma=True, only={1, 3})
    assert [f.index for f in frames] == [1, 3]
    for frame in frames:
        assert frame.image.shape == (size[1], size[0])
        x, y = bright_centroid(np.repeat(frame.image[..., None], 3, axis=2))
        assert abs(x - marker[0]) <= PX_TOL and abs(y - marker[1]) <= PX_TOL, (x, y)


# --- downscaling --------------------------------------------------------------------------------------

MAX_SIDE_CASES = [
    # stored (w, h), codec, display rotation, max_side, expected upright (h, w)
    ((320, 180), "h264", None, 100, (56, 100)),
    ((320, 180), "h264", None, 35, (20, 34)),  # odd max_side: the even size must not round up past it
    ((320, 180), "h264", None, 320, (180, 320)),  # at the limit: untouched
    ((64, 48), "h264", None, 1000, (48, 64)),  # never upscaled
    ((320, 180), "h264", -90, 100, (100, 56)),  # portrait: the longer side is the height
    ((165, 361), "h264_444", None, 200, (200, 92)),
]


@pytest.mark.parametrize(("stored", "codec", "rotation", "max_side", "expected"), MAX_SIDE_CASES)
def test_max_side_keeps_aspect_and_even_dims(
    tmp_path: Path, stored: tuple[int, int], codec: str, rotation: int | None, max_side: int,
    expected: tuple[int, int],
) -> None:
    if rotation is None:
        clip = cf.solid_clip(tmp_path / "big.mp4", codec=codec, size=stored, n=2)
    else:
        clip = cf.rotated_portrait_clip(tmp_path / "big.mp4", rotation=rotation, size=stored, n=2)
    full = probe(clip.path)

    frames, _ = decode_all(clip.path, max_side=max_side)

    h, w = frames[0].image.shape[:2]
    assert (h, w) == expected
    assert frames[0].image.flags.c_contiguous
    if max(full.width, full.height) > max_side:
        assert h % 2 == 0 and w % 2 == 0
        assert max(h, w) <= max_side
        if w >= h:
            assert abs(h - w * full.height / full.width) <= 1.0
        else:
            assert abs(w - h * full.width / full.height) <= 1.0


# --- bad inputs ---------------------------------------------------------------------------------------

def folder(path: Path) -> Path:
    """A folder with a video's name."""
    path.mkdir()
    return path


BAD_INPUT_CASES: list[tuple[str, Callable[[Path], Path], type[AnalyzerError], type[AnalyzerError] | None]] = [
    # name, factory(tmp_path) -> path, error from probe, error from iter_frames (None: not checked)
    ("text.mp4", lambda d: cf.text_file(d / "notes.mp4"), NotAVideoError, NotAVideoError),
    ("empty.mp4", lambda d: cf.empty_file(d / "empty.mp4"), NotAVideoError, NotAVideoError),
    ("photo.png", lambda d: cf.png_image(d / "photo.png"), NotAVideoError, None),
    ("png-named.mp4", lambda d: cf.png_image(d / "photo.mp4"), NotAVideoError, None),
    ("audio.m4a", lambda d: cf.audio_only_clip(d / "voice.m4a"), NotAVideoError, NotAVideoError),
    ("zero-frames.mp4", lambda d: cf.zero_frame_clip(d / "nothing.mp4"), EmptyVideoError, EmptyVideoError),
    ("missing", lambda d: d / "never_written.mp4", InputNotFoundError, InputNotFoundError),
    ("folder", lambda d: folder(d / "clips.mp4"), InputNotFoundError, InputNotFoundError),
]


@pytest.mark.parametrize(("case", "make", "probe_error", "decode_error"), BAD_INPUT_CASES,
                         ids=[c[0] for c in BAD_INPUT_CASES])
def test_bad_inputs_raise_the_right_error_naming_the_file(
    tmp_path: Path, case: str, make: Callable[[Path], Path], probe_error: type[AnalyzerError],
    decode_error: type[AnalyzerError] | None,
) -> None:
    path = make(tmp_path)

    with pytest.raises(probe_error) as probed:
        probe(path)
    assert type(probed.value) is probe_error
    assert path.name in str(probed.value)
    assert "\n" not in str(probed.value)

    if decode_error is not None:
        with pytest.raises(decode_error) as decoded:
            list(iter_frames(path))
        assert type(decoded.value) is decode_error
        assert path.name in str(decoded.value)


# --- damaged files ------------------------------------------------------------------------------------

DAMAGE_CASES: list[tuple[str, Callable[[Path], cf.Clip], int, int]] = [
    # name, factory, fewest frames expected, most frames expected (of 60 written)
    ("truncated-half", lambda p: cf.truncated_clip(p, n=60, keep=0.5), 20, 40),
    ("truncated-tenth", lambda p: cf.truncated_clip(p, n=60, keep=0.1), 1, 10),
    ("corrupt-5pc", lambda p: cf.corrupt_middle_clip(p, n=60, span=0.05), 40, 59),
    ("corrupt-20pc", lambda p: cf.corrupt_middle_clip(p, n=60, span=0.2), 30, 57),
    ("corrupt-50pc", lambda p: cf.corrupt_middle_clip(p, n=60, span=0.5), 10, 45),
]


@pytest.mark.parametrize(("case", "make", "least", "most"), DAMAGE_CASES, ids=[c[0] for c in DAMAGE_CASES])
def test_damaged_clips_decode_what_survives_and_count_the_rest(
    tmp_path: Path, case: str, make: Callable[[Path], cf.Clip], least: int, most: int
) -> None:
    clip = make(tmp_path / "damaged.mp4")

    info = probe(clip.path)  # the header (moov, at the front) is intact
    frames, stats = decode_all(clip.path)

    assert info.frame_count == clip.n
    assert least <= stats.decoded <= most
    assert stats.decoded == len(frames)
    assert stats.lost > 0
    assert stats.decoded + stats.lost == clip.n  # every frame the header promises is either out or lost
    # The damage is never in the first GOP, so frame 0 survives and times keep their origin: every
    # decoded time is one of the timestamps written (damage never invents or shifts times).
    times = np.array([f.t for f in frames])
    assert np.all(np.diff(times) > 0)
    nearest = np.min(np.abs(times[:, None] - np.array(clip.times)[None, :]), axis=1)
    assert np.max(nearest) <= T_TOL


NOTHING_DECODES_CASES = [
    ("truncated-2pc", lambda p: cf.truncated_clip(p, n=60, keep=0.02)),
    ("corrupt-all", lambda p: cf.corrupt_middle_clip(p, n=60, span=1.0)),
]


@pytest.mark.parametrize(("case", "make"), NOTHING_DECODES_CASES, ids=[c[0] for c in NOTHING_DECODES_CASES])
def test_nothing_decodable_raises_video_decode_error(
    tmp_path: Path, case: str, make: Callable[[Path], cf.Clip]
) -> None:
    clip = make(tmp_path / "broken.mp4")
    stats = DecodeStats()

    with pytest.raises(VideoDecodeError) as raised:
        list(iter_frames(clip.path, stats))

    assert type(raised.value) is VideoDecodeError
    assert clip.path.name in str(raised.value)
    assert (stats.decoded, stats.lost) == (0, clip.n)


# --- limits -------------------------------------------------------------------------------------------

LIMIT_CASES = [
    # name, limits relative to a 64x48, 12-frame, 25 fps clip (0.48 s), raises?
    ("duration", {"max_duration_s": 0.25}, True),
    ("pixels", {"max_pixels": 64 * 48 - 1}, True),
    ("pixels-at-limit", {"max_pixels": 64 * 48}, False),
    ("file-size", {"max_file_mb": "half"}, True),
    ("file-size-double", {"max_file_mb": "double"}, False),
    ("defaults", {}, False),
]


@pytest.mark.parametrize(("case", "overrides", "raises"), LIMIT_CASES, ids=[c[0] for c in LIMIT_CASES])
def test_limits(tmp_path: Path, case: str, overrides: dict[str, object], raises: bool) -> None:
    clip = cf.solid_clip(tmp_path / "clip.mp4", size=(64, 48), n=12, fps=25)
    size_mb = clip.path.stat().st_size / 1e6
    factor = {"half": 0.5, "double": 2.0}
    values = {k: size_mb * factor[v] if v in factor else v for k, v in overrides.items()}
    limits = replace(VideoLimits(), **values)  # type: ignore[arg-type]

    if raises:
        with pytest.raises(LimitExceededError) as raised:
            probe(clip.path, limits)
        assert clip.path.name in str(raised.value)
    else:
        info = probe(clip.path, limits)
        assert info.duration_s == pytest.approx(0.48, abs=0.041)  # within one frame


# --- writer -------------------------------------------------------------------------------------------

WRITER_CASES = [
    # size (w, h), fps, frame times in seconds (None: from fps)
    ((64, 48), 30.0, None),
    ((96, 160), 25.0, (0.0, 0.02, 0.07, 0.09, 0.14, 0.16, 0.21, 0.23)),  # VFR, portrait
    ((166, 360), 29.97, (0.0, 0.033, 0.05, 0.1, 0.1335, 0.2)),  # padded-row width, sub-ms timestamps
]


@pytest.mark.parametrize(("size", "fps", "times"), WRITER_CASES, ids=["cfr", "vfr", "166px"])
def test_writer_output_is_browser_h264_with_faststart_and_kept_times(
    tmp_path: Path, size: tuple[int, int], fps: float, times: tuple[float, ...] | None
) -> None:
    width, height = size
    n = len(times) if times else 10
    out = tmp_path / "annotated.mp4"

    with VideoWriter(out, width, height, fps) as writer:
        for i in range(n):
            writer.write(cf.pattern(i, width, height), None if times is None else times[i])

    assert sorted(os.listdir(tmp_path)) == ["annotated.mp4"]  # renamed into place, no .part left
    info = probe(out)
    with av.open(str(out)) as container:
        pix_fmt = container.streams.video[0].codec_context.pix_fmt
    assert (info.codec, pix_fmt, info.width, info.height) == ("h264", "yuv420p", width, height)
    assert width % 2 == 0 and height % 2 == 0
    atoms = [kind for kind, _, _ in cf.top_level_atoms(out)]
    assert "moov" in atoms and "mdat" in atoms
    offsets = {kind: start for kind, start, _ in cf.top_level_atoms(out)}
    assert offsets["moov"] < offsets["mdat"]  # faststart: the index comes first

    frames, stats = decode_all(out)
    assert (stats.decoded, stats.lost) == (n, 0)
    expected = np.array(times if times else [i / fps for i in range(n)])
    assert np.max(np.abs(np.array([f.t for f in frames]) - expected)) <= T_TOL
    for frame in frames:
        x, y = bright_centroid(frame.image)
        want_x, want_y = square_centre(frame.index, width, height)
        assert abs(x - want_x) <= PX_TOL and abs(y - want_y) <= PX_TOL


WRITER_FAILURE_CASES = [
    # frames written before the exception
    0,
    5,
]


@pytest.mark.parametrize("written", WRITER_FAILURE_CASES)
def test_writer_leaves_nothing_behind_when_the_block_fails(tmp_path: Path, written: int) -> None:
    out = tmp_path / "annotated.mp4"

    with pytest.raises(RuntimeError, match="pose stage failed"), VideoWriter(out, 64, 48, 30.0) as writer:
        for i in range(written):
            writer.write(cf.pattern(i, 64, 48))
        raise RuntimeError("pose stage failed")

    assert not out.exists()
    assert os.listdir(tmp_path) == []  # nor the hidden .annotated.mp4.part


WRITER_BAD_ARGS = [
    # writer width, height, frame (h, w) written, message
    (65, 48, (48, 65), "needs even dimensions, got 65x48"),  # yuv420p cannot hold an odd size
    (64, 47, (47, 64), "needs even dimensions, got 64x47"),
    (64, 48, (48, 66), "frame is 66x48, writer is 64x48"),
]


@pytest.mark.parametrize(("width", "height", "frame", "message"), WRITER_BAD_ARGS)
def test_writer_rejects_odd_sizes_and_wrong_frames(
    tmp_path: Path, width: int, height: int, frame: tuple[int, int], message: str
) -> None:
    out = tmp_path / "annotated.mp4"
    with pytest.raises(ValueError, match=re.escape(message)), VideoWriter(out, width, height) as writer:
        writer.write(np.zeros((*frame, 3), dtype=np.uint8))
    assert os.listdir(tmp_path) == []


# --- threads ------------------------------------------------------------------------------------------

STOP_EARLY_CASES = [
    # codec, frames taken before the consumer stops
    ("h264", 1),
    ("hevc", 2),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("codec", "taken"), STOP_EARLY_CASES)
def test_stopping_early_never_deadlocks_the_frame_threads(tmp_path: Path, codec: str, taken: int) -> None:
    """Abandoning iter_frames closes a frame-threaded decoder while its threads may still log.

    With PyAV's Python log callback on, such a thread waits for the GIL that the closing thread holds:
    this hung in roughly one of a few hundred runs. The callback must stay off (level None).
    """
    clip = cf.solid_clip(tmp_path / f"clip.{codec}.mp4", codec=codec, size=(64, 48), n=12)

    for _ in range(150):
        frames = iter_frames(clip.path)
        got = [next(frames) for _ in range(taken)]
        frames.close()
        assert [f.index for f in got] == list(range(taken))

    assert av.logging.get_level() is None
