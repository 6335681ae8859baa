"""The rhythm task and the p_af stream: cross-fitting, causality, beat-precise change estimates, the
two-state detectors' initial state, the workflow end to end, and the small-support threshold fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import run
from ecgflow.detectors import detect_changes
from ecgflow.grid import canonical_stream_grid
from ecgflow.parquet import read_metadata
from ecgflow.streams import build_stream
from ecgflow.sweep import sweep
from ecgflow.training import evaluate
from ecgflow.training.rhythm import (assign_folds, beat_labels, fold_roles, record_probabilities, rr_windows,
                                     train_crossfit)
from workflow_utils import tiny_config, write_config

FS = 250.0


def synthetic_record(name, seed, n=1200, af=((300, 700),)):
    """Beats with regular RR (0.8 s +- 2 %) and AF stretches (RR uniform 0.4-1.1 s) at beat ranges ``af``."""
    rng = np.random.default_rng(seed)
    rr = 0.8 * (1 + 0.02 * rng.standard_normal(n))
    labels = np.zeros(n, np.int8)
    for a, b in af:
        rr[a:b] = rng.uniform(0.4, 1.1, b - a)
        labels[a:b] = 1
    samples = np.round(np.cumsum(rr) * FS).astype(np.int64)
    # label of beat k: the rhythm of the interval ending at it
    return {"record": name, "samples": samples, "fs": FS, "labels": labels}


TINY = {"folds": 3, "window": 16, "stride": 2, "val_fraction": 0.3, "epochs": 3, "batch_size": 64, "patience": 2,
        "lr": 0.01}


@pytest.fixture(scope="module")
def crossfit():
    records = [synthetic_record(f"r{i}", i, af=((200 + 50 * i, 600 + 30 * i),)) for i in range(5)]
    return records, train_crossfit(records, TINY, seed=3, device="cpu", threads=1)


def test_no_record_is_in_its_own_models_training_or_validation(crossfit):
    records, out = crossfit
    folds = out["checkpoint"]["folds"]
    assert sorted(folds) == [r["record"] for r in records] and set(folds.values()) == {0, 1, 2}
    roles = out["roles"]
    for fold in range(3):
        used = roles[(roles["fold"] == fold) & roles["role"].isin(["train", "val", "train+val"])]["record"]
        assert not set(used) & {r for r, f in folds.items() if f == fold}
        assert (roles[(roles["fold"] == fold)]["role"] == "val").any()
    # seeded, and every record's own fold model scores it
    assert assign_folds(list(folds), 3, 3) == folds  # seeded
    assert fold_roles(folds, 0, 0.3, 3) == fold_roles(folds, 0, 0.3, 3)
    two = assign_folds(["a", "b"], 5, 0)
    assert sorted(two.values()) == [0, 1] and fold_roles(two, two["a"], 0.2, 0) == {"a": "test", "b": "train+val"}


def test_the_model_learns_and_the_stream_is_causal(crossfit):
    records, out = crossfit
    rec = records[0]
    full = record_probabilities(out["checkpoint"], rec["record"], rec["samples"], FS)
    y = rec["labels"][1:]
    assert evaluate.binary_auroc(y, full["p_af"]) > 0.8
    part = record_probabilities(out["checkpoint"], rec["record"], rec["samples"][:500], FS)
    np.testing.assert_allclose(part["p_af"].to_numpy(), full["p_af"].to_numpy()[:499], rtol=0, atol=1e-6)
    x_full, x_part = rr_windows(rec["samples"], FS, 16), rr_windows(rec["samples"][:300], FS, 16)
    np.testing.assert_array_equal(x_part, x_full[:299])
    values, pos = build_stream("p_af", 4, fs=FS, rhythm=full)
    v_part, _ = build_stream("p_af", 4, fs=FS, rhythm=part)
    np.testing.assert_allclose(v_part, values[: v_part.size], atol=1e-6)
    assert pos[0] == full["sample"].iloc[3]


def test_beat_labels_follow_the_rhythm_in_force():
    events = pd.DataFrame({"sample": [100, 300, 500], "rhythm_to": ["(AFIB", "(N", "(AFL"]})
    assert beat_labels(np.array([50, 100, 299, 300, 600]), events, "(N").tolist() == [0, 1, 1, 0, 1]
    assert beat_labels(np.array([5]), events.iloc[:0], "(AFIB").tolist() == [1]


def test_change_estimates_on_p_af_fall_within_one_beat():
    n = 600
    onsets, offsets = [150, 420], [300, 520]
    p = np.full(n, 0.05)
    for a, b in zip(onsets, offsets):
        p[a:b] = 0.95
    samples = 1000 + 200 * np.arange(n)
    rhythm = pd.DataFrame({"sample": samples, "p_af": p})
    grid = canonical_stream_grid({"threshold": {"name": "hi", "values": [0.5, 0.8]},
                                  "window": {"name": "smooth", "values": [1, 4, 8]}, "min_gap_s": [0]},
                                 "hysteresis", "p_af")
    det, meta = sweep("hysteresis", "p_af", grid, fs=FS, params={"band": 0.3, "dwell": 4}, rhythm=rhythm)
    assert meta["change_estimate"] == "best split of the per-beat probabilities"
    for _, rows in det.groupby("combo_id"):
        assert rows["direction"].tolist() == [1, -1, 1, -1]
        truth = samples[np.array([onsets[0], offsets[0], onsets[1], offsets[1]])]
        assert np.abs(rows["change_sample"].to_numpy() - truth).max() <= 200  # one beat
        assert (rows["change_sample"] <= rows["alarm_sample"]).all()


def test_initial_state_estimated_from_the_first_window():
    x = np.r_[np.ones(30), np.zeros(30), np.ones(30)]
    low = detect_changes("hysteresis", x, hi=0.5, band=0.2, dwell=4)
    est = detect_changes("hysteresis", x, hi=0.5, band=0.2, dwell=4, initial="estimate")
    assert low[0].tolist() == [3, 33, 63] and low[2].tolist() == [1, -1, 1]  # default: starts low
    assert est[0].tolist() == [0, 33, 63] and est[1][0] == 0 and est[2].tolist() == [1, -1, 1]
    # a stream that starts low: the estimate changes nothing
    y = x[30:]
    np.testing.assert_array_equal(detect_changes("hysteresis", y, hi=0.5, band=0.2, dwell=4, initial="estimate")[0],
                                  detect_changes("hysteresis", y, hi=0.5, band=0.2, dwell=4)[0])
    c_low = detect_changes("cusum", x, h=4.0)
    c_est = detect_changes("cusum", x, h=4.0, initial="estimate")
    assert c_low[0][0] > 0 and c_est[0][0] == 0 and c_est[2][0] == 1 and c_est[2][1] == -1


def test_small_validation_support_keeps_half():
    rng = np.random.default_rng(0)
    y = np.zeros((200, 2), int)
    y[:3, 0] = 1  # 3 positives: too few to tune
    y[:60, 1] = 1
    p = rng.uniform(0, 1, (200, 2))
    p[:3, 0] = 0.15
    p[:60, 1] += 0.5
    old = evaluate.tune_thresholds(y, p, ["rare", "common"])  # former behaviour: tuned on 3 positives
    new = evaluate.tune_thresholds(y, p, ["rare", "common"], min_support=evaluate.MIN_TUNE_SUPPORT)
    assert old["tuned"].tolist() == [True, True] and old["threshold"].iloc[0] <= 0.15
    assert new["tuned"].tolist() == [False, True] and new["threshold"].iloc[0] == 0.5
    assert new["best_threshold"].iloc[0] == old["threshold"].iloc[0]  # both figures reported
    assert new["threshold"].iloc[1] == old["threshold"].iloc[1]


@pytest.mark.slow
def test_rhythm_task_and_p_af_pairs_run_on_the_demo(workflow, tmp_path):
    config = tiny_config(p_af=True)
    hyst = config["detectors"]["hysteresis"]
    config["detectors"] = {"hysteresis": {**hyst, "streams": {k: hyst["streams"][k] for k in ("pirr", "p_af")}}}
    config["train"]["rhythm"].update(epochs=2, stride=2, window=16)
    work = write_config(tmp_path / "work", config)
    targets = ["results/demo/tables/rhythm_beats.parquet", "results/demo/tables/detection_metrics.parquet"]
    run(workflow, work, *targets)
    res = work / "results" / "demo"
    first = sorted((res / "rhythm").glob("*.parquet"))[0]
    rhythm = pd.read_parquet(first)
    assert list(rhythm.columns) == ["sample", "p_af"] and rhythm["p_af"].between(0, 1).all()
    folds = pd.read_parquet(work / "results" / "train" / "rhythm" / "demo" / "folds.parquet")
    for fold, rows in folds.groupby("fold"):
        assert not set(rows[rows["role"] != "test"]["record"]) & set(rows[rows["role"] == "test"]["record"])
    table = pd.read_parquet(res / "tables" / "rhythm_beats.parquet")
    assert set(table["stream"]) == {"p_af", "cosen", "pirr"} and (table["record"] == "pooled").sum() == 3
    # both pairs ran on the record (on two 5-minute records the model may never cross a threshold: runs, not rows)
    assert set(read_metadata(res / "detections" / first.name)["runs"]) == {"hysteresis/pirr", "hysteresis/p_af"}
    metrics = pd.read_parquet(res / "tables" / "detection_metrics.parquet")
    assert "p_af" in set(metrics["stream"])
    # changing the rhythm model's settings reruns its training, its streams and the detections, not the tidy stage
    config["train"]["rhythm"]["epochs"] = 3
    write_config(work, config)
    out = run(workflow, work, *targets, "-n").stdout
    assert "train_rhythm" in out and "rhythm_stream" in out and "detect_record" in out
    assert "rule tidy" not in out and "checkpoint tidy" not in out
