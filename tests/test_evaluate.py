import math

import pytest

from analyzer.errors import ConfigError
from analyzer.evaluate import ClipResult, _label_faults, read_labels, score


def clip(label_reps, reps, exercise="deadlift", view="side", faults="none", found=(), error=""):
    label = {"file": "x.mp4", "reps": str(label_reps), "exercise": exercise, "view": view, "faults": faults}
    return ClipResult(file="x.mp4", label=label, reps=reps, faults=frozenset(found), error=error)


def test_rep_figures():
    s = score([
        clip(5, 5), clip(1, 1), clip(3, 4), clip(2, 0, view="oblique"), clip(2, 2, exercise="squat"),
        clip(1, None, error="decode failed"),
    ])
    assert s.rep_exact["hinge side+oblique"] == (2, 4)
    assert s.rep_exact["all"] == (3, 5)
    assert s.rep_exact["deadlift/side"] == (2, 3)
    assert s.rep_mae == pytest.approx((0 + 0 + 1 + 2 + 0) / 5)
    assert (s.ghost_reps, s.missed_reps, s.errors) == (1, 2, 1)


def test_fault_precision_and_recall_at_clip_level():
    s = score([
        clip(1, 1, faults="rounded_back", found={"rounded_back"}),  # tp
        clip(1, 1, faults="rounded_back"),  # fn
        clip(1, 1, faults="none", found={"rounded_back"}),  # fp
        clip(1, 1, faults="none"),  # tn
        clip(1, 1, faults="none"),  # tn
        clip(1, 1, faults="unknown", found={"rounded_back"}),  # not scored
        clip(1, 1, faults="rounded_back?", found={"rounded_back"}),  # unsure label: not scored
    ])
    rb = s.faults["rounded_back"]
    assert (rb["tp"], rb["fp"], rb["fn"], rb["tn"]) == (1, 1, 1, 2)
    assert rb["precision"] == pytest.approx(0.5) and rb["recall"] == pytest.approx(0.5)
    assert "bar_drift" not in s.faults  # never labelled nor flagged


@pytest.mark.parametrize(
    ("text", "expected"),
    [("none", set()), ("rounded_back", {"rounded_back"}), ("rounded_back;bar_drift", {"rounded_back", "bar_drift"}),
     ("unknown", None), ("n/a", None), ("rounded_back?", None), ("", None)],
)
def test_label_fault_parsing(text, expected):
    assert _label_faults(text) == expected


def test_labels_need_file_and_reps_columns(tmp_path):
    bad = tmp_path / "labels.csv"
    bad.write_text("name,count\na.mp4,1\n")
    with pytest.raises(ConfigError, match="'file' and 'reps'"):
        read_labels(bad)


def test_empty_scores_are_nan_not_errors():
    s = score([])
    assert math.isnan(s.rep_mae) and s.view_accuracy is None and s.faults == {}


def fake_report(clip, outdir):
    """A stand-in analysis for the process-pool test (module level: the workers import it): the clip's name
    says how many reps, and a name with 'bad' raises the analyzer's error for a bad input."""
    from analyzer.errors import NotAVideoError

    if "bad" in clip.name:
        raise NotAVideoError(f"{clip.name}: not a video")
    return {"reps": [{"faults": []}] * int(clip.stem.split("_")[-1]), "view": {"view": "side"},
            "exercise": {"recognized": "deadlift"}}


def test_two_workers_give_the_same_results_in_label_order(tmp_path):
    from analyzer.evaluate import evaluate

    labels = tmp_path / "labels.csv"
    names = ["a_3.mp4", "b_1.mp4", "bad_0.mp4", "c_5.mp4", "d_2.mp4"]
    labels.write_text("file,reps,exercise,view\n" + "".join(f"{n},3,deadlift,side\n" for n in names))
    one, scores_one = evaluate(labels, tmp_path, tmp_path / "out1", fake_report)
    two, scores_two = evaluate(labels, tmp_path, tmp_path / "out2", fake_report, workers=2)
    assert [r.file for r in two] == names
    assert [(r.reps, r.error) for r in two] == [(r.reps, r.error) for r in one]
    assert [r.reps for r in two] == [3, 1, None, 5, 2] and "not a video" in two[2].error
    assert scores_two == scores_one
