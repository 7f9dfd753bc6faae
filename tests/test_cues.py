import pytest

from analyzer.cues import MAX_CUES_PER_REP, cues_for, load_cues, parse_cues
from analyzer.errors import ConfigError
from analyzer.types import Fault, FaultCode

CUES = load_cues()


def _fault(code: FaultCode, severity: float, confidence: float = 1.0) -> Fault:
    return Fault(code, severity, confidence, worst_t=1.0, measured=1.0, threshold=0.5, unit="x")


@pytest.mark.parametrize(
    ("faults", "expected"),
    [
        ([], ()),
        ([_fault(FaultCode.ROUNDED_BACK, 0.6)], (FaultCode.ROUNDED_BACK,)),
        ([_fault(FaultCode.BAR_DRIFT, 0.6), _fault(FaultCode.ROUNDED_BACK, 0.9), _fault(FaultCode.NECK_CRANING, 0.7)],
         (FaultCode.ROUNDED_BACK, FaultCode.NECK_CRANING)),
        ([_fault(FaultCode.BAR_DRIFT, 0.7, 0.4), _fault(FaultCode.SQUATTING_THE_PULL, 0.7, 0.9)],
         (FaultCode.SQUATTING_THE_PULL, FaultCode.BAR_DRIFT)),  # equal severity: more confident first
    ],
)
def test_at_most_two_cues_most_severe_first(faults, expected):
    got = cues_for(faults, CUES)
    assert len(got) <= MAX_CUES_PER_REP
    assert got == tuple(CUES[c] for c in expected)


@pytest.mark.parametrize("code", list(FaultCode))
def test_every_fault_has_a_short_positive_cue(code):
    text = CUES[code]
    assert 0 < len(text) <= 80
    assert not text.lower().startswith(("don't", "do not", "stop", "never"))


def test_missing_cue_is_a_config_error():
    with pytest.raises(ConfigError, match="no cue text"):
        parse_cues('[cues.rounded_back]\ntext = "Flat back"\n', "test.toml")
