import pytest

from ecgflow.beats import aami_classes
from ecgflow.rhythm import clean_aux, rhythm_episodes


def test_transitions_keep_only_changes():
    r = rhythm_episodes([3, 100, 200, 300], ["(N", "(N", "(AFIB", "(N"], n_samples=1000, convention="transitions")
    assert r.starts.tolist() == [0, 200, 300]
    assert r.labels == ("(N", "(AFIB", "(N")
    samples, before, after = r.events()
    assert samples.tolist() == [200, 300] and before == ["(N", "(AFIB"] and after == ["(AFIB", "(N"]


def test_episodes_convention_cpsc():
    # opened at 0 and closed at the last sample: persistent AF, no regime change
    r = rhythm_episodes([0, 999], ["(AFIB", "(N"], n_samples=1000, convention="episodes")
    assert r.labels == ("(AFIB",) and len(r.events()[0]) == 0
    # one past the last sample also only ends the record
    r = rhythm_episodes([0, 1000], ["(AFIB", "(N"], n_samples=1000, convention="episodes")
    assert r.labels == ("(AFIB",)
    r = rhythm_episodes([300, 600], ["(AFIB", "(N"], n_samples=1000, convention="episodes")
    assert r.starts.tolist() == [0, 300, 600] and r.labels == ("(N", "(AFIB", "(N")


def test_per_sample_and_unknown_convention():
    r = rhythm_episodes([0, 4], ["(N", "(AFIB"], n_samples=6, convention="transitions")
    assert r.per_sample(6).tolist() == [0, 0, 0, 0, 1, 1]
    with pytest.raises(ValueError, match="convention"):
        rhythm_episodes([], [], 10, "other")


def test_clean_aux_and_aami():
    assert clean_aux("(N\x00") == "(N"
    assert list(aami_classes(["N", "L", "A", "V", "F", "/", "Q", "?", "B"])) == ["N", "N", "S", "V", "F", "Q", "Q", None, None]
