import re

import numpy as np

from analyzer.html_report import angle_plot_svg, render_html
from analyzer.types import Fault, FaultCode, Rep, Report


def _report(with_fault: bool) -> Report:
    faults = (Fault(FaultCode.ROUNDED_BACK, 0.6, 0.8, 2.0, 0.09, 0.05, "ratio"),) if with_fault else ()
    reps = (
        Rep(1, 0.5, 1.5, 2.5, 3.0, {"trunk_incline_max_deg": 64.0, "descent_s": 1.0, "ascent_s": 1.0},
            faults=faults, cues=("Brace before you pull: keep your back flat",) if with_fault else ()),
        Rep(2, 3.0, 4.0, 5.0, 5.5, {"trunk_incline_max_deg": 66.0, "descent_s": 1.0, "ascent_s": 1.0}),
    )
    return Report(clip={"file": "lift <1>.mp4", "width": 960, "height": 540, "duration_s": 6.0},
                  exercise={"rules": "deadlift@1"}, reps=reps, summary={}, warnings=("2 frame(s) lost",),
                  provenance={"version": "0.1.0"})


def test_page_has_video_rep_rows_that_seek_and_plots():
    t = np.linspace(0, 6, 181)
    page = render_html(_report(True), {"Trunk inclination": (t, 40 + 30 * np.sin(t))}, "annotated.mp4")
    assert '<video id="video" src="annotated.mp4"' in page
    starts = re.findall(r'class="rep-row[^"]*" data-start="([\d.]+)"', page)
    assert starts == ["0.500", "3.000"]
    assert 'class="rep-row flagged"' in page and "Brace before you pull" in page
    assert page.count('class="rep"') == 2  # one shaded window per rep
    assert "lift &lt;1&gt;.mp4" in page  # file names are escaped
    assert "2 frame(s) lost" in page
    assert not re.search(r'(src|href)="https?://', page)  # nothing loaded from the network


def test_nan_breaks_the_line_and_unmeasured_series_say_so():
    t = np.arange(6.0)
    y = np.array([1, 2, np.nan, 4, 5, 6.0])
    svg = angle_plot_svg("Neck", t, y, [])
    path = re.search(r'<path d="([^"]+)"', svg).group(1)
    assert path.count("M") == 2  # the gap starts a new segment
    assert "not measured" in angle_plot_svg("Neck", t, np.full(6, np.nan), [])


def test_no_video_run_says_so():
    page = render_html(_report(False), {}, None)
    assert "<video" not in page and "--no-video" in page


def test_peak_bar_speed_column_carries_its_unit_and_source():
    report = _report(False)
    reps = (Rep(1, 0.5, 1.5, 2.5, 3.0, {"trunk_incline_max_deg": 64.0, "bar_speed_peak_m_per_s": 0.8512}),
            Rep(2, 3.0, 4.0, 5.0, 5.5, {"trunk_incline_max_deg": 66.0, "bar_speed_peak_m_per_s": float("nan")}))
    source = "the plate's centre (the bar's axis): a 450 mm plate, radius 93.7 px"
    page = render_html(Report(clip=report.clip, exercise=report.exercise, reps=reps,
                              summary={"bar_speed_source": source}, warnings=(), provenance=report.provenance),
                       {}, None)
    assert "<td>0.85 m/s</td>" in page
    assert "<td>not seen</td>" in page  # an unmeasured peak says so
    assert "the plate&#x27;s centre (the bar&#x27;s axis)" in page
