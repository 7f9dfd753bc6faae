"""Bad input through the CLI: one-line error, the right exit code, and OUTDIR left as it was."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from analyzer.cli import main
from analyzer.errors import (
    InputNotFoundError,
    LimitExceededError,
    NoPersonError,
    NotAVideoError,
    OutputError,
    VideoDecodeError,
)
from tests import clipfactory as cf

Maker = Callable[[Path], Path]


def _clip(fn: Callable[..., object], name: str, **kw: object) -> Maker:
    def make(folder: Path) -> Path:
        result = fn(folder / name, **kw)
        return result.path if hasattr(result, "path") else result  # type: ignore[union-attr,return-value]

    return make


CASES: list[tuple[str, Maker, list[str], int, str]] = [
    ("missing file", lambda d: d / "nope.mp4", [], InputNotFoundError.exit_code, "no such file"),
    ("a folder", lambda d: d, [], InputNotFoundError.exit_code, "folder"),
    ("text named .mp4", _clip(cf.text_file, "notes.mp4"), [], NotAVideoError.exit_code, "notes.mp4"),
    ("png image", _clip(cf.png_image, "photo.png"), [], NotAVideoError.exit_code, "still image"),
    ("audio only", _clip(cf.audio_only_clip, "voice.m4a"), [], NotAVideoError.exit_code, "audio only"),
    ("empty file", _clip(cf.empty_file, "empty.mp4"), [], NotAVideoError.exit_code, "empty"),
    ("zero frames", _clip(cf.zero_frame_clip, "zero.mp4"), [], VideoDecodeError.exit_code, "zero frames"),
    ("truncated to nothing", _clip(cf.truncated_clip, "cut.mp4", keep=0.02), [],
     VideoDecodeError.exit_code, "cut.mp4"),
    ("too long", _clip(cf.solid_clip, "long.mp4", n=30), ["--max-duration-s", "0.5"],
     LimitExceededError.exit_code, "longer than"),
    ("too large", _clip(cf.solid_clip, "big.mp4"), ["--max-pixels", "1000"],
     LimitExceededError.exit_code, "larger than"),
    ("file too big", _clip(cf.solid_clip, "heavy.mp4"), ["--max-file-mb", "0.0001"],
     LimitExceededError.exit_code, "MB"),
    ("nobody in the clip", _clip(cf.solid_clip, "empty_room.mp4", n=10, size=(128, 96)), [],
     NoPersonError.exit_code, "nobody"),
]


@pytest.mark.parametrize(("name", "make", "extra", "code", "needle"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("outdir_exists", [False, True], ids=["new-outdir", "existing-outdir"])
def test_bad_input_gives_one_line_and_leaves_outdir_untouched(
    tmp_path, capsys, name, make, extra, code, needle, outdir_exists
):
    inputs = tmp_path / "in"
    inputs.mkdir()
    clip = make(inputs)
    outdir = tmp_path / "out"
    if outdir_exists:
        outdir.mkdir()
        (outdir / "keep.txt").write_text("earlier results")
    rc = main(["analyze", str(clip), "-o", str(outdir), "-q", *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == code, (name, err)
    assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0], err
    assert "Traceback" not in "\n".join(err)
    if outdir_exists:
        assert sorted(p.name for p in outdir.iterdir()) == ["keep.txt"]
        assert (outdir / "keep.txt").read_text() == "earlier results"
    else:
        assert not outdir.exists()


def test_outdir_that_cannot_be_created(tmp_path, capsys):
    clip = cf.solid_clip(tmp_path / "a.mp4").path
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    rc = main(["analyze", str(clip), "-o", str(blocker / "out"), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == OutputError.exit_code and len(err) == 1 and "output folder" in err[0]


def test_outdir_that_is_a_file(tmp_path, capsys):
    clip = cf.solid_clip(tmp_path / "a.mp4").path
    target = tmp_path / "report"
    target.write_text("x")
    rc = main(["analyze", str(clip), "-o", str(target), "-q"])
    assert rc == OutputError.exit_code
    assert target.read_text() == "x"


def test_help_is_generated_from_the_defaults(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["analyze", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for flag, default in [("--max-duration-s", "600.0"), ("--max-people", "2"), ("--cutoff-hz", "4.0"),
                          ("--max-short-side", "720")]:
        assert flag in text and f"(default: {default})" in text


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("hinge-analyzer ")
