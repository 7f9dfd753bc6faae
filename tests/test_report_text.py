"""How metrics read to people: a value the footage did not show says so instead of printing 'nan'."""

from __future__ import annotations

import math

import pytest

from analyzer.render import banner_text
from analyzer.report import NOT_SEEN, rep_summary, shown
from analyzer.types import Rep


@pytest.mark.parametrize(
    ("value", "spec", "unit", "expected"),
    [(1.75, ".1f", "s", "1.8 s"), (64.31, ".0f", "deg", "64 deg"), (math.nan, ".1f", "s", NOT_SEEN),
     (None, ".1f", "s", NOT_SEEN), (0.0, ".1f", "s", "0.0 s"), (2.0, ".2f", "", "2.00")],
)
def test_shown(value, spec, unit, expected):
    assert shown(value, spec, unit) == expected


def test_a_rep_whose_lockout_was_not_seen_reads_not_seen_everywhere():
    rep = Rep(index=2, start_s=0.0, bottom_s=1.0, lockout_s=2.0, end_s=3.0,
              metrics={"trunk_incline_max_deg": 64.3, "descent_s": 1.75, "ascent_s": math.nan})
    assert rep_summary(rep) == "depth 64 deg, down 1.8 s, up not seen"
    assert banner_text(rep) == "Rep 2: depth 64 deg, down 1.8 s, up not seen"
    assert "nan" not in rep_summary(Rep(index=1, start_s=0.0, bottom_s=1.0, lockout_s=2.0, end_s=3.0))
