"""Beat (QRS) detection and its beat-by-beat scores (ecgflow.qrs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import wfdb
from conftest import SHARED, needs_shared

from ecgflow.beats import BEAT_SYMBOLS
from ecgflow.demo.records import write_demo_record
from ecgflow.errors import InputError
from ecgflow.qrs import MIN_DETECT_S, beat_pairs, detect_beats, match_beats
from ecgflow.report.record_checks import qrs_summary
from ecgflow.wfdb_read import read_lead


def reference_beats(base) -> np.ndarray:
    ann = wfdb.rdann(str(base), "atr")
    return np.asarray(ann.sample, np.int64)[np.isin(ann.symbol, list(BEAT_SYMBOLS))]


def se_ppv(reference, detected, fs):
    tp, fp, fn = match_beats(reference, detected, fs)
    return tp / (tp + fn), tp / (tp + fp)


def test_detects_the_beats_of_a_demo_record(tmp_path):
    base = write_demo_record(tmp_path, "d01", seed=2026, duration_s=120, fs=250)
    x, _, header, _ = read_lead(base.with_suffix(".hea"), ["MLII", 0])
    beats = detect_beats(x, header.fs, source=base)
    assert beats.dtype == np.int64 and np.all(np.diff(beats) > 0)
    sensitivity, ppv = se_ppv(reference_beats(base), beats, header.fs)
    assert sensitivity >= 0.99 and ppv >= 0.99


def test_match_beats_hand_made():
    fs = 100.0  # window +-15 samples
    reference = [100, 200, 300, 400]
    # 104 matches 100; 195 and 203 both near 200: the nearer (203) matches, 195 is a false positive;
    # 330 is outside 300's window (30 > 15): a false positive, and 300 a miss; 400 is missed.
    detected = [104, 195, 203, 330]
    assert match_beats(reference, detected, fs) == (2, 2, 2)
    r_m, d_m = beat_pairs(reference, detected, fs)
    assert r_m.tolist() == [0, 1] and d_m.tolist() == [0, 2]
    assert match_beats(reference, [], fs) == (0, 0, 4)
    assert match_beats([], detected, fs) == (0, 4, 0)
    # the window's edge is inside it: 15 samples = 150 ms at 100 Hz
    assert match_beats([100], [115], fs) == (1, 0, 0)
    assert match_beats([100], [116], fs) == (0, 1, 1)


def test_match_beats_nearest_first_and_one_to_one():
    fs = 100.0
    # 112 lies within reach of both 100 and 120; nearest first gives it 120 (8 < 12), and 100 then
    # takes 95; each reference is matched at most once.
    assert beat_pairs([100, 120], [95, 112], fs)[1].tolist() == [0, 1]
    assert match_beats([100, 120], [95, 112], fs) == (2, 0, 0)
    assert match_beats([100], [98, 99, 101, 102], fs) == (1, 3, 0)


def test_match_beats_agrees_with_brute_force():
    rng = np.random.default_rng(7)
    for _ in range(100):
        ref = np.unique(rng.integers(0, 2000, rng.integers(0, 30)))
        det = np.unique(rng.integers(0, 2000, rng.integers(0, 30)))
        pairs = sorted((abs(int(d) - int(r)), i, j) for i, r in enumerate(ref) for j, d in enumerate(det)
                       if abs(int(d) - int(r)) <= 15)
        used_r, used_d = set(), set()
        for _, i, j in pairs:
            if i not in used_r and j not in used_d:
                used_r.add(i)
                used_d.add(j)
        tp = len(used_r)
        assert match_beats(ref, det, 100.0) == (tp, len(det) - tp, len(ref) - tp)


def test_qrs_summary_totals():
    rows = pd.DataFrame({"record": ["a", "b", "c"], "tp": [90, 10, 0], "fp": [10, 0, 0], "fn": [0, 10, 0]})
    out = qrs_summary(rows)
    assert out.columns.tolist() == ["record", "tp", "fp", "fn", "sensitivity", "ppv"]
    assert out.record.tolist() == ["a", "b", "c", "total"]
    total = out.iloc[-1]
    assert (total.tp, total.fp, total.fn) == (100, 10, 10)
    assert total.sensitivity == pytest.approx(100 / 110) and total.ppv == pytest.approx(100 / 110)
    assert out.sensitivity.tolist()[:3] == [1.0, 0.5, 0.0] and out.ppv.tolist()[:3] == [0.9, 1.0, 0.0]


def test_too_short_signal_names_the_source():
    fs = 250.0
    x = np.zeros(int(fs * MIN_DETECT_S) - 25, np.float32)
    with pytest.raises(InputError, match=r"rec9: .*1225 samples \(4\.90 s at 250 Hz\) is too short.*at least 5 s"):
        detect_beats(x, fs, source="rec9")


@pytest.mark.parametrize("case", ["flat", "blip"])
def test_no_beats_names_the_source(case):
    fs = 250.0
    x = np.zeros(int(10 * fs))
    if case == "blip":  # a single blip: one beat found
        x[1] = 1e-3
    found = 0 if case == "flat" else 1
    with pytest.raises(InputError, match=rf"rec7: {found} beats found in 10\.0 s.*at least 2"):
        detect_beats(x, fs, source="rec7")


def test_bad_signal_names_the_source():
    x = np.sin(np.arange(5000) / 10.0)
    x[100] = np.nan
    with pytest.raises(InputError, match="rec8: 1 missing"):
        detect_beats(x, 250.0, source="rec8")
    with pytest.raises(InputError, match="rec8: expected one lead"):
        detect_beats(np.zeros((5000, 2)), 250.0, source="rec8")


@needs_shared
@pytest.mark.parametrize("record", ["100", "119"])
def test_mitdb_records(record):
    base = SHARED / "mitdb" / record
    if not base.with_suffix(".hea").exists():
        pytest.skip(f"mitdb record {record} not found at {base}")
    x, _, header, _ = read_lead(base.with_suffix(".hea"), ["MLII", 0])
    sensitivity, ppv = se_ppv(reference_beats(base), detect_beats(x, header.fs, source=base), header.fs)
    # measured with sleepecg 0.6.0: 100 -> 1.000 / 1.000, 119 -> 0.994 / 0.969 (ventricular bigeminy)
    assert sensitivity >= 0.99 and ppv >= 0.95
