import numpy as np
import pytest

from analyzer.filtering import FilterOptions, clean, fill_gaps, lowpass, majority_sign


@pytest.mark.parametrize(
    ("gap_s", "filled"),
    [(0.1, True), (0.25, True), (0.5, False)],
)
def test_gaps_are_filled_only_up_to_the_limit(gap_s, filled):
    t = np.arange(0, 3, 1 / 30)
    x = 2.0 * t
    holes = (t > 1.0) & (t < 1.0 + gap_s - 1e-9)
    x_missing = x.copy()
    x_missing[holes] = np.nan
    out = fill_gaps(t, x_missing, max_gap_s=0.3)
    if filled:
        assert np.allclose(out[holes], x[holes])
    else:
        assert np.isnan(out[holes]).all()


def test_leading_and_trailing_gaps_stay_nan():
    t = np.arange(10.0)
    x = np.array([np.nan, 1, 2, 3, 4, 5, 6, 7, 8, np.nan])
    out = fill_gaps(t, x, 5.0)
    assert np.isnan(out[0]) and np.isnan(out[-1])


def test_lowpass_keeps_slow_motion_and_removes_jitter_with_no_lag():
    rng = np.random.default_rng(1)
    t = np.arange(0, 10, 1 / 30)
    slow = 30 * np.sin(2 * np.pi * 0.3 * t)
    noisy = slow + rng.normal(0, 3, len(t))
    out = lowpass(t, noisy, cutoff_hz=4.0)
    inner = slice(30, -30)
    assert np.std(out[inner] - slow[inner]) < 1.5  # noise cut by more than half
    lag = np.argmax(np.correlate(out - out.mean(), slow - slow.mean(), "full")) - (len(t) - 1)
    assert lag == 0  # zero-phase


def test_variable_frame_rate_is_filtered_on_its_timestamps():
    rng = np.random.default_rng(2)
    t = np.cumsum(rng.choice([1 / 60, 1 / 20], 400))
    slow = 20 * np.sin(2 * np.pi * 0.4 * t)
    out = lowpass(t, slow, cutoff_hz=4.0)
    assert np.max(np.abs(out - slow)[20:-20]) < 1.0


def test_clean_never_bridges_long_gaps():
    t = np.arange(0, 4, 1 / 30)
    x = np.sin(t)
    x[40:80] = np.nan
    out = clean(t, x, FilterOptions(max_gap_s=0.25))
    assert np.isnan(out[40:80]).all() and np.isfinite(out[:40]).all() and np.isfinite(out[80:]).all()


T30 = np.arange(0, 4, 1 / 30)


@pytest.mark.parametrize(
    ("name", "flipped", "expected_flips"),
    [
        ("one-frame flip is outvoted", [(60, 61)], 0),
        ("four-frame flip is outvoted", [(60, 64)], 0),
        ("a real turn (held 2 s) is kept", [(60, 120)], 60),
    ],
)
def test_majority_sign_outvotes_short_flips_and_keeps_turns(name, flipped, expected_flips):
    sign = np.ones(len(T30))
    for a, b in flipped:
        sign[a:b] = -1.0
    sign[10] = np.nan  # unknown frames stay unknown and do not vote
    out = majority_sign(T30, sign, 0.5)
    assert np.isnan(out[10])
    assert int(np.sum(out == -1.0)) == pytest.approx(expected_flips, abs=1), name
