"""Per-rep form checks: per-frame kinematics + a rep's window + rule thresholds -> judgements (pure numpy).

Every check returns a ``Judgement`` for every rep: ``flagged`` (with a ``Fault``), ``ok``, or ``not_judged``
with a plain reason when the footage cannot show it (too few usable outline frames, head out of frame, a
front view, no rule for the exercise). Thresholds come from the ``faults.*`` tables of the exercise's rule
file (models/rules/<exercise>.toml); the code holds no biomechanical numbers. A check whose table is
missing from the rule file is not judged ("no rule for this exercise"), so a kettlebell swing is never
told its bell drifts forward.

Severity runs from 0.5 at the threshold to 1 at the table's ``severe`` level; confidence is the share of
the rep's relevant frames that were usable, times the landmarks' visibility where it applies.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal, Protocol

import numpy as np

from analyzer.filtering import window_rows
from analyzer.kinematics import Kinematics
from analyzer.rules import RuleSet
from analyzer.types import Fault, FaultCode

Status = Literal["flagged", "ok", "not_judged"]


class RepTimes(Protocol):
    """Anything with a rep's times in seconds (``types.Rep`` and ``reps.RepWindow`` both fit)."""

    start_s: float
    bottom_s: float
    lockout_s: float
    end_s: float


@dataclass(frozen=True)
class Judgement:
    """The outcome of one check on one rep.

    ``measured``/``threshold``/``unit`` are filled whenever a value could be measured (also when it passed),
    so reports can show how close a rep came; ``fault`` is set only when flagged; ``reason`` says why a
    rep was not judged.
    """

    code: FaultCode
    status: Status
    fault: Fault | None = None
    measured: float = float("nan")
    threshold: float = float("nan")
    unit: str = ""
    reason: str = ""

    def __post_init__(self) -> None:
        if (self.status == "flagged") != (self.fault is not None):
            raise ValueError("a fault is given exactly when the status is 'flagged'")
        if self.status == "not_judged" and not self.reason:
            raise ValueError("a rep that is not judged needs a reason")


@dataclass(frozen=True)
class _Window:
    start: int
    bottom: int
    lockout: int
    end: int


def _window(kin: Kinematics, rep: RepTimes) -> _Window:
    idx = np.searchsorted(kin.t, [rep.start_s, rep.bottom_s, rep.lockout_s, rep.end_s], side="left")
    idx = np.clip(idx, 0, len(kin.t) - 1)
    return _Window(*(int(i) for i in idx))


def _has(rules: RuleSet, name: str) -> bool:
    return name in rules.thresholds


def _opt(rules: RuleSet, name: str, default: float) -> float:
    """An optional threshold: the table's value, or ``default`` (the check's behaviour before it existed)."""
    return rules.value(name) if _has(rules, name) else default


def sustained_max(t: np.ndarray, x: np.ndarray, duration_s: float) -> tuple[float, int]:
    """The largest value ``x`` holds for ``duration_s``: max over windows of that length of the window's
    minimum, over runs of finite samples; with its window's first index. (NaN, -1) when no finite run
    lasts that long. ``duration_s`` <= 0 gives the plain maximum."""
    finite = np.isfinite(x)
    if duration_s <= 0:
        if not finite.any():
            return float("nan"), -1
        i = int(np.nanargmax(x))
        return float(x[i]), i
    n = len(t)
    last = np.searchsorted(t, t + duration_s - 1e-9)  # each window is [i, last[i]]
    stop = np.minimum(last + 1, n)
    index, inside = window_rows(np.arange(n), stop)
    bad = np.concatenate([[0], np.cumsum(~finite)])
    whole = finite & (last < n) & (bad[stop] - bad[:n] == 0)
    if not whole.any():
        return float("nan"), -1
    lows = np.where(whole, np.min(np.where(inside, x[index], np.inf), axis=1), -np.inf)
    at = int(np.argmax(lows))
    return float(lows[at]), at


def severity(measured: float, threshold: float, severe: float) -> float:
    """0.5 at the threshold, 1.0 at (or past) the severe level; works for either direction."""
    span = severe - threshold
    if span == 0:
        return 1.0
    return float(np.clip(0.5 + 0.5 * (measured - threshold) / span, 0.0, 1.0))


def _not_judged(code: FaultCode, reason: str) -> Judgement:
    return Judgement(code, "not_judged", reason=reason)


def _decide(
    code: FaultCode, measured: float, threshold: float, severe: float, unit: str, *,
    worst_t: float, confidence: float, above: bool = True,
) -> Judgement:
    """Flag when ``measured`` is at or past ``threshold`` (above it, or below it when ``above`` is False)."""
    crossed = measured >= threshold if above else measured <= threshold
    if not crossed:
        return Judgement(code, "ok", measured=measured, threshold=threshold, unit=unit)
    fault = Fault(code=code, severity=severity(measured, threshold, severe),
                  confidence=float(np.clip(confidence, 0.0, 1.0)), worst_t=float(worst_t),
                  measured=float(measured), threshold=float(threshold), unit=unit)
    return Judgement(code, "flagged", fault, measured, threshold, unit)


def _side_view_reason(kin: Kinematics, w: _Window, rules: RuleSet) -> str:
    """Empty when the rep was filmed close enough to side-on for sagittal measures, else why not."""
    if kin.shoulder_width_ratio is None:
        return ""
    ratio = kin.shoulder_width_ratio[w.start:w.end + 1]
    if not np.isfinite(ratio).any():
        return "the shoulders were not tracked"
    limit = rules.value("faults.view.max_shoulder_width_ratio")
    if float(np.nanmedian(ratio)) > limit:
        return "filmed from the front, rear or too obliquely for a side-view measure"
    return ""


# ------------------------------------------------------------------------------------------ checks


def judge_rounded_back(
    kin: Kinematics, w: _Window, rules: RuleSet, *, least_curved: float = float("nan"),
) -> Judgement:
    """Median back-outline curvature over the rep's hinged frames (lean inside the usable band, no cut/fade).

    Flags when the median passes the absolute limit, or (with other reps to compare) when it passes the
    lifter's least-curved rep by the relative margin: neutral backs do not read zero, so a rep rounding
    more than the same lifter's best rep is evidence too.
    """
    code = FaultCode.ROUNDED_BACK
    if kin.back_curvature is None or kin.mask_area_jump is None:
        return _not_judged(code, "no segmentation outline was recorded")
    sl = slice(w.start, w.end + 1)
    lean = kin.trunk_inclination_deg[sl]
    hinged = (lean >= rules.value("faults.rounded_back.lean_min_deg")) & (
        lean <= rules.value("faults.rounded_back.lean_max_deg"))
    jump = kin.mask_area_jump[sl]
    usable = hinged & np.isfinite(kin.back_curvature[sl]) & ~(jump > rules.value("faults.rounded_back.max_area_jump"))
    n_usable, n_hinged = int(usable.sum()), int(hinged.sum())
    if n_usable < rules.value("faults.rounded_back.min_frames"):
        return _not_judged(code, f"too few frames with a clear back outline while hinged ({n_usable})")
    curv = kin.back_curvature[sl][usable]
    median = float(np.median(curv))
    threshold = rules.value("faults.rounded_back.curvature_min")
    relative = rules.value("faults.rounded_back.relative_min")
    if np.isfinite(least_curved) and median - least_curved >= relative and median < threshold:
        threshold = least_curved + relative
    worst = int(np.flatnonzero(usable)[int(np.argmax(curv))]) + w.start
    return _decide(code, median, threshold, rules.value("faults.rounded_back.severe"), "sagitta/chord",
                   worst_t=kin.t[worst], confidence=n_usable / max(n_hinged, 1))


def rep_back_curvature(kin: Kinematics, w: _Window, rules: RuleSet) -> float:
    """The rep's median usable curvature (NaN when not judgeable): used for the lifter's baseline."""
    j = judge_rounded_back(kin, w, rules)
    return j.measured if j.status != "not_judged" else float("nan")


def judge_hyperextended_lockout(kin: Kinematics, w: _Window, rules: RuleSet) -> Judgement:
    """Lean back past vertical (deg) held from lockout to the rep's end.

    The value is the largest lean-back held for ``min_duration_s`` (a lean that lasts, not a sway through
    vertical as the bar settles) over the tracked frames (and, when kinematics gives a ``trunk_visibility``,
    those whose shoulders and hips are seen); when the lockout was too short or hidden for that, the rep
    is not judged.
    """
    code = FaultCode.HYPEREXTENDED_LOCKOUT
    lean = kin.trunk_lean_deg
    if lean is None:
        return _not_judged(code, "trunk lean was not measured")
    sl = slice(w.lockout, w.end + 1)
    seg = -lean[sl]
    trunk_visibility = getattr(kin, "trunk_visibility", None)  # shoulders and hips, when kinematics gives it
    if trunk_visibility is not None:
        seg = np.where(trunk_visibility[sl] >= _opt(rules, "faults.hyperextended_lockout.min_visibility", 0.0),
                       seg, np.nan)
    if not np.isfinite(seg).any():
        return _not_judged(code, "the lifter was not tracked at lockout (or facing is unknown)")
    hold = _opt(rules, "faults.hyperextended_lockout.min_duration_s", 0.0)
    value, i = sustained_max(kin.t[sl], seg, hold)
    if i < 0:
        return _not_judged(code, f"the lockout was seen for less than {hold:.1f} s: too briefly to judge a lean-back")
    return _decide(code, value, rules.value("faults.hyperextended_lockout.lean_back_min_deg"),
                   rules.value("faults.hyperextended_lockout.severe"), "deg", worst_t=kin.t[w.lockout + i],
                   confidence=float(np.isfinite(seg).mean()))


def _bottom_frames(kin: Kinematics, w: _Window, rules: RuleSet) -> np.ndarray:
    """(N,) indices of the rep's frames within the bottom band of its deepest trunk inclination."""
    sl = kin.trunk_inclination_deg[w.start:w.lockout + 1]
    if not np.isfinite(sl).any():
        return np.zeros(0, int)
    deep = sl >= np.nanmax(sl) - rules.value("faults.neck.bottom_band_deg")
    return np.flatnonzero(deep) + w.start


def judge_neck(kin: Kinematics, w: _Window, rules: RuleSet) -> tuple[Judgement, Judgement]:
    """Neck angle at the bottom against the same lifter's standing neck angle (craning +, sagging -).

    The change is read against ``neutral_offset_deg``, what a neutral neck reads between bottom and
    standing (the shoulder points drop forward as the shoulder blades hang). A change beyond
    ``max_plausible_deg`` is a mis-tracked head (half out of frame), and fewer than ``min_duration_s`` of
    visible head at the bottom is too little to judge: both are not judged.
    """
    codes = (FaultCode.NECK_CRANING, FaultCode.NECK_SAGGING)

    def skip(reason: str) -> tuple[Judgement, Judgement]:
        return _not_judged(codes[0], reason), _not_judged(codes[1], reason)

    if kin.neck_angle_deg is None or kin.head_visibility is None:
        return skip("the neck was not measured")
    min_vis = rules.value("faults.neck.min_visibility")
    bottom = _bottom_frames(kin, w, rules)
    bottom = bottom[kin.head_visibility[bottom] >= min_vis] if len(bottom) else bottom
    bottom = bottom[np.isfinite(kin.neck_angle_deg[bottom])] if len(bottom) else bottom
    top = np.arange(w.lockout, w.end + 1)
    top = top[(kin.head_visibility[top] >= min_vis) & np.isfinite(kin.neck_angle_deg[top])]
    if len(bottom) == 0:
        return skip("the head was hidden or out of frame at the bottom")
    if len(top) == 0:
        return skip("the head was hidden or out of frame at lockout (no standing reference)")
    dt = float(np.median(np.diff(kin.t))) if len(kin.t) > 1 else 0.0
    seen_s = len(bottom) * dt
    if seen_s < _opt(rules, "faults.neck.min_duration_s", 0.0):
        return skip(f"the head was seen for only {seen_s:.2f} s at the bottom")
    change = kin.neck_angle_deg[bottom] - float(np.median(kin.neck_angle_deg[top]))
    value = float(np.median(change))
    if abs(value) > _opt(rules, "faults.neck.max_plausible_deg", np.inf):
        return skip(f"the head landmarks read an impossible neck angle ({value:.0f} deg): the head is mis-tracked")
    value -= _opt(rules, "faults.neck.neutral_offset_deg", 0.0)
    worst_ext = int(bottom[int(np.argmax(change))])
    worst_flex = int(bottom[int(np.argmin(change))])
    confidence = float(np.mean(kin.head_visibility[bottom]))
    crane = _decide(codes[0], value, rules.value("faults.neck.extension_min_deg"),
                    rules.value("faults.neck.severe_deg"), "deg", worst_t=kin.t[worst_ext], confidence=confidence)
    sag = _decide(codes[1], -value, rules.value("faults.neck.flexion_min_deg"),
                  rules.value("faults.neck.severe_deg"), "deg", worst_t=kin.t[worst_flex], confidence=confidence)
    return crane, sag


def judge_squatting(kin: Kinematics, w: _Window, rules: RuleSet) -> Judgement:
    """Hip share of the flexion (hip / (hip + knee)) at the rep's deepest knee bend; low = squatting the pull."""
    code = FaultCode.SQUATTING_THE_PULL
    share = kin.hip_share
    if share is None:
        return _not_judged(code, "hip and knee angles were not measured")
    bottom = _bottom_frames(kin, w, rules)
    values = share[bottom] if len(bottom) else np.zeros(0)
    if not np.isfinite(values).any():
        return _not_judged(code, "hips or knees were not tracked at the bottom")
    value = float(np.nanmedian(values))
    i = int(bottom[int(np.nanargmin(values))])
    return _decide(code, value, rules.value("faults.squatting.hip_share_max"), rules.value("faults.squatting.severe"),
                   "hip share", worst_t=kin.t[i], confidence=float(np.isfinite(values).mean()), above=False)


def judge_hips_rise_first(kin: Kinematics, w: _Window, rules: RuleSet) -> Judgement:
    """Trunk tipping toward horizontal (deg) from the bar's lowest point until it passes the knees.

    Off the floor the back angle should hold: hips and shoulders rise together. When the hips shoot up and
    the shoulders stay down, the trunk inclination grows. The value is the largest rise of the trunk
    inclination over its angle where the bar (mid-wrist) was lowest, held for ``min_duration_s``, up to
    the bar passing the knees.
    """
    code = FaultCode.HIPS_RISE_FIRST
    if kin.bar_height is None or kin.knee_height is None or kin.bar_visibility is None:
        return _not_judged(code, "the bar path was not measured")
    idx = np.arange(w.start, w.lockout + 1)
    seen = kin.bar_visibility[idx] >= _opt(rules, "faults.hips_rise_first.min_visibility", 0.0)
    bar = np.where(seen, kin.bar_height[idx], np.nan)
    if not np.isfinite(bar).any():
        return _not_judged(code, "the hands were hidden during the pull")
    lowest = int(np.nanargmin(bar))
    past_knees = np.flatnonzero(bar[lowest:] >= kin.knee_height[idx][lowest:])
    end = lowest + (int(past_knees[0]) if len(past_knees) else len(idx) - 1 - lowest)
    span = slice(idx[lowest], idx[end] + 1)
    trunk = kin.trunk_inclination_deg[span]
    if not np.isfinite(trunk[0]):
        return _not_judged(code, "the trunk was not tracked where the bar was lowest")
    value, i = sustained_max(kin.t[span], trunk - trunk[0], _opt(rules, "faults.hips_rise_first.min_duration_s", 0.0))
    if i < 0:
        return _not_judged(code, "the trunk was not tracked long enough between the floor and the knees")
    return _decide(code, value, rules.value("faults.hips_rise_first.trunk_drop_min_deg"),
                   rules.value("faults.hips_rise_first.severe"), "deg", worst_t=kin.t[idx[lowest] + i],
                   confidence=float(np.isfinite(bar[lowest:end + 1]).mean()))


def judge_bar_drift(kin: Kinematics, w: _Window, rules: RuleSet) -> Judgement:
    """How far forward of mid-foot the bar proxy (mid-wrist) drifts during the pull, in trunk lengths.

    Read from the bottom to lockout (while the bar is loaded and rising; not the set-up, where the hands
    reach for the bar, nor the lowering), as the largest offset held for ``min_duration_s`` over frames
    whose wrists are seen (``min_visibility``). When the wrists are seen on less than ``min_seen_fraction``
    of the pull (hidden behind plates or the body), the rep is not judged.
    """
    code = FaultCode.BAR_DRIFT
    if kin.bar_drift is None or kin.bar_visibility is None:
        return _not_judged(code, "the bar path was not measured")
    first = w.bottom if _has(rules, "faults.bar_drift.min_duration_s") else w.start
    idx = np.arange(first, w.lockout + 1)
    seen = kin.bar_visibility[idx] >= rules.value("faults.bar_drift.min_visibility")
    drift = np.where(seen, kin.bar_drift[idx], np.nan)
    share = float(np.isfinite(drift).mean()) if len(idx) else 0.0
    if not np.isfinite(drift).any():
        return _not_judged(code, "the hands or feet were hidden during the pull")
    if share < _opt(rules, "faults.bar_drift.min_seen_fraction", 0.0):
        return _not_judged(code, f"the hands were seen on only {share:.0%} of the pull (behind the plates or the body)")
    value, i = sustained_max(kin.t[idx], drift, _opt(rules, "faults.bar_drift.min_duration_s", 0.0))
    if i < 0:
        return _not_judged(code, "the hands were not seen long enough at a time during the pull")
    return _decide(code, value, rules.value("faults.bar_drift.forward_min"),
                   rules.value("faults.bar_drift.severe"), "trunk lengths", worst_t=kin.t[idx[i]], confidence=share)


def judge_incomplete_lockout(kin: Kinematics, w: _Window, rules: RuleSet) -> Judgement:
    """Largest hip angle reached from lockout to the rep's end; below the limit the hips never finished."""
    code = FaultCode.INCOMPLETE_LOCKOUT
    hip = kin.hip_angle_deg[w.lockout:w.end + 1]
    if not np.isfinite(hip).any():
        return _not_judged(code, "the hips were not tracked at lockout")
    i = int(np.nanargmax(hip))
    return _decide(code, float(hip[i]), rules.value("faults.incomplete_lockout.hip_angle_min_deg"),
                   rules.value("faults.incomplete_lockout.severe_deg"), "deg", worst_t=kin.t[w.lockout + i],
                   confidence=float(np.isfinite(hip).mean()), above=False)


def judge_uncontrolled_lowering(kin: Kinematics, w: _Window, rules: RuleSet) -> Judgement:
    """Eccentric (lowering) time against the concentric time, and against a minimum lowering time.

    The measured value is the eccentric / concentric time ratio; a lowering shorter than the minimum
    eccentric time is flagged whatever the ratio.
    """
    code = FaultCode.UNCONTROLLED_LOWERING
    if w.start == 0 and kin.trunk_inclination_deg[0] > kin.trunk_inclination_deg[w.end]:
        return _not_judged(code, "the clip starts mid-rep: the lowering was not filmed")
    eccentric = float(kin.t[w.bottom] - kin.t[w.start])
    concentric = float(kin.t[w.lockout] - kin.t[w.bottom])
    if concentric <= 0:
        return _not_judged(code, "no ascent was seen")
    ratio = eccentric / concentric
    min_ratio = rules.value("faults.uncontrolled_lowering.ratio_min")
    min_s = rules.value("faults.uncontrolled_lowering.eccentric_min_s")
    if eccentric < min_s and ratio > min_ratio:
        return _decide(code, eccentric, min_s, 0.0, "s", worst_t=kin.t[w.bottom], confidence=1.0, above=False)
    return _decide(code, ratio, min_ratio, 0.0, "eccentric/concentric", worst_t=kin.t[w.bottom], confidence=1.0,
                   above=False)


# ------------------------------------------------------------------------------------------ judge

# rule-table section each check needs, the codes it answers, and whether it is a side-view measure
_Check = Callable[[Kinematics, _Window, RuleSet], tuple[Judgement, ...]]
CHECKS: tuple[tuple[str, tuple[FaultCode, ...], bool, _Check], ...] = (
    ("faults.rounded_back.", (FaultCode.ROUNDED_BACK,), True, lambda k, w, r: (judge_rounded_back(k, w, r),)),
    ("faults.hyperextended_lockout.", (FaultCode.HYPEREXTENDED_LOCKOUT,), True,
     lambda k, w, r: (judge_hyperextended_lockout(k, w, r),)),
    ("faults.neck.", (FaultCode.NECK_CRANING, FaultCode.NECK_SAGGING), True, judge_neck),
    ("faults.squatting.", (FaultCode.SQUATTING_THE_PULL,), True, lambda k, w, r: (judge_squatting(k, w, r),)),
    ("faults.hips_rise_first.", (FaultCode.HIPS_RISE_FIRST,), True,
     lambda k, w, r: (judge_hips_rise_first(k, w, r),)),
    ("faults.bar_drift.", (FaultCode.BAR_DRIFT,), True, lambda k, w, r: (judge_bar_drift(k, w, r),)),
    ("faults.incomplete_lockout.", (FaultCode.INCOMPLETE_LOCKOUT,), True,
     lambda k, w, r: (judge_incomplete_lockout(k, w, r),)),
    ("faults.uncontrolled_lowering.", (FaultCode.UNCONTROLLED_LOWERING,), False,
     lambda k, w, r: (judge_uncontrolled_lowering(k, w, r),)),
)


# checks that read the standing lockout (the neck's is its standing reference)
LOCKOUT_CHECKS = frozenset({FaultCode.HYPEREXTENDED_LOCKOUT, FaultCode.INCOMPLETE_LOCKOUT, FaultCode.NECK_CRANING,
                            FaultCode.NECK_SAGGING})
UNSEEN_LOCKOUT = "the lifter was not tracked at lockout"
# checks that need the camera square to the lifter's side, not just near it: the bar's forward offset from
# mid-foot is a horizontal distance in the sagittal plane, and at an angle the far wrist and foot are guesses
SIDE_ONLY_CHECKS = frozenset({FaultCode.BAR_DRIFT})


def judge(reps: Sequence[RepTimes], kin: Kinematics, rules: RuleSet, *,
          unseen_lockouts: Collection[int] = (), view: str = "") -> tuple[tuple[Judgement, ...], ...]:
    """Every check on every rep: one tuple of judgements per rep, in ``CHECKS`` order (one per FaultCode).

    ``reps`` are ``types.Rep`` or ``reps.RepWindow`` (anything with start/bottom/lockout/end seconds).
    The rounded-back check also compares each rep with the lifter's least-curved judgeable rep.
    ``unseen_lockouts``: indices of reps whose lockout fell in a tracking gap; their lockout checks are
    not judged. ``view``: the clip's camera view (``view.analyze_view``); when it is known and not 'side',
    the side-only checks (``SIDE_ONLY_CHECKS``) are not judged.
    """
    windows = [_window(kin, r) for r in reps]
    has_back = any(name.startswith("faults.rounded_back.") for name in rules.thresholds)
    curves = np.array([rep_back_curvature(kin, w, rules) if has_back else np.nan for w in windows])
    out: list[tuple[Judgement, ...]] = []
    for i, w in enumerate(windows):
        others = np.delete(curves, i)
        least = float(np.nanmin(others)) if np.isfinite(others).any() else float("nan")
        view_reason = _side_view_reason(kin, w, rules) if _has(rules, "faults.view.max_shoulder_width_ratio") else ""
        rep: list[Judgement] = []
        for prefix, codes, sagittal, check in CHECKS:
            switch = rules.thresholds.get(prefix + "enabled")
            if not any(name.startswith(prefix) for name in rules.thresholds):
                rep.extend(_not_judged(c, f"not checked for {rules.exercise}") for c in codes)
            elif switch is not None and not switch.value:  # switched off in the table, with the reason why
                rep.extend(_not_judged(c, switch.reason) for c in codes)
            elif i in unseen_lockouts and set(codes) <= LOCKOUT_CHECKS:
                rep.extend(_not_judged(c, UNSEEN_LOCKOUT) for c in codes)
            elif view not in ("", "side", "unknown") and set(codes) <= SIDE_ONLY_CHECKS:
                rep.extend(_not_judged(c, f"filmed from the {view}: the bar's offset from mid-foot needs a side view")
                           for c in codes)
            elif sagittal and view_reason:
                rep.extend(_not_judged(c, view_reason) for c in codes)
            elif codes[0] is FaultCode.ROUNDED_BACK:
                rep.append(judge_rounded_back(kin, w, rules, least_curved=least))
            else:
                rep.extend(check(kin, w, rules))
        out.append(tuple(rep))
    return tuple(out)


def every_check_on(rules: RuleSet) -> RuleSet:
    """The table with its switched-off checks switched on: for measuring a check the table doesn't trust yet."""
    return replace(rules, thresholds=MappingProxyType(
        {k: v for k, v in rules.thresholds.items() if not k.endswith(".enabled")}))


def faults_of(judgements: Sequence[Judgement]) -> tuple[Fault, ...]:
    """The flagged faults of one rep, most severe first."""
    found = [j.fault for j in judgements if j.fault is not None]
    return tuple(sorted(found, key=lambda f: (-f.severity, -f.confidence)))


def not_judged(judgements: Sequence[Judgement]) -> dict[str, str]:
    """Fault code -> reason, for the checks one rep could not make."""
    return {j.code.value: j.reason for j in judgements if j.status == "not_judged"}
