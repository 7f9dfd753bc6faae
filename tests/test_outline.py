import numpy as np
import pytest

from analyzer.outline import torso_outline


def rect_mask(h=400, w=400, x0=150, x1=250, y0=50, y1=350) -> np.ndarray:
    mask = np.zeros((h, w), np.float32)
    mask[y0:y1, x0:x1] = 1.0
    return mask


def test_vertical_torso_in_a_rectangle_reads_the_half_widths():
    # shoulder above hip, axis at x=190: 40 px to the left edge (150) and 60 px to the right (250)
    out = torso_outline(rect_mask(), np.array([190.0, 100.0]), np.array([190.0, 300.0]))
    # direction (0, 1) -> side 0 normal (-1, 0) = towards smaller x
    assert np.allclose(out[0], 40.0, atol=1.0)
    assert np.allclose(out[1], 60.0, atol=1.0)


def test_a_bowed_back_reads_as_a_bulge_in_the_middle():
    mask = rect_mask()
    yy = np.arange(400)[:, None]
    xx = np.arange(400)[None, :]
    bulge = 30 * np.sin(np.pi * np.clip((yy - 100) / 200, 0, 1))
    mask[(xx < 150) & (xx >= 150 - bulge) & (yy >= 100) & (yy <= 300)] = 1.0
    out = torso_outline(mask, np.array([190.0, 100.0]), np.array([190.0, 300.0]))
    middle = out[0, len(out[0]) // 2]
    ends = out[0, [0, -1]]
    assert middle - ends.mean() == pytest.approx(30 * (1 - np.sin(np.pi * 0.1)), abs=2.0)


@pytest.mark.parametrize(
    ("case", "mask", "shoulder", "hip"),
    [
        ("axis outside the mask", rect_mask(), (50.0, 100.0), (50.0, 300.0)),
        ("mask reaches the frame edge", rect_mask(x0=0, x1=400), (190.0, 100.0), (190.0, 300.0)),
        ("degenerate axis", rect_mask(), (190.0, 100.0), (190.0, 101.0)),
        ("NaN landmarks", rect_mask(), (np.nan, 100.0), (190.0, 300.0)),
    ],
)
def test_unmeasurable_rays_are_nan(case, mask, shoulder, hip):
    out = torso_outline(mask, np.array(shoulder), np.array(hip))
    assert np.isnan(out).all(), case
