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
