"""ecgflow.report.transfer: the candidate a source dataset's nested study picks, scored on a target
dataset's per-record metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_report_tables import EVENT_FREE, metrics_frame

from ecgflow.evaluation import precision_recall_f1
from ecgflow.evaluation.metrics import chance_f1
from ecgflow.parquet import read_metadata, write_parquet
from ecgflow.report.study import study_table
from ecgflow.report.transfer import TRANSFER_COLUMNS, transfer_table, write_transfer_tables

WORSE = {rec: [(max(tp - 1, 0), fp + 1) for tp, fp in v] for rec, v in EVENT_FREE.items()}
# target counts (tp, fp) per record and combo; r4 is event-free
TARGET = {"r1": [(1, 2), (3, 0), (0, 1)], "r2": [(4, 0), (2, 2), (1, 1)], "r3": [(0, 0), (1, 3), (2, 0)],
          "r4": [(0, 1), (0, 5), (0, 0)]}


def source_metrics() -> pd.DataFrame:
    """As the study test's: hysteresis / pirr combo 1 at change times is the nested choice; two tolerances."""
    parts = []
    for tol in (2.0, 4.0):
        parts += [metrics_frame(EVENT_FREE, tolerance_s=tol, detector="hysteresis", stream="pirr", timing="change"),
                  metrics_frame(WORSE, tolerance_s=tol, detector="hysteresis", stream="pirr", timing="alarm"),
                  metrics_frame(WORSE, tolerance_s=tol, detector="adwin", stream="rr", timing="change")]
    return pd.concat(parts, ignore_index=True)


def target_metrics() -> pd.DataFrame:
    """One tolerance, change times only, other combo ids (same values), records renamed, uneven delays."""
    m = pd.concat([metrics_frame(TARGET, detector="hysteresis", stream="pirr"),
                   metrics_frame(WORSE, detector="adwin", stream="rr")], ignore_index=True)
    m["combo_id"] += 5
    m.loc[m["record"] == "r2", "mean_delay_s"] *= 3
    m["record"] = m["record"].map({"r1": "t1", "r2": "t2", "r3": "t3", "r4": "t4"})
    return m.assign(dataset="target")


def test_transfer_by_hand():
    source = study_table(source_metrics(), "src")
    target = target_metrics()
    target_study = study_table(target, "target")
    out = transfer_table(source, "src", target, "target", target_study)
    assert list(out.columns) == TRANSFER_COLUMNS and len(out) == len(source)
    assert out[["tolerance_s", "timing"]].values.tolist() == [
        [2.0, "alarm"], [2.0, "change"], [2.0, "chosen"], [4.0, "alarm"], [4.0, "change"], [4.0, "chosen"]]
    row = out.set_index(["tolerance_s", "timing"]).loc[(2.0, "change")]
    assert (row["detector"], row["stream"], row["candidate_timing"]) == ("hysteresis", "pirr", "change")
    assert (row["threshold"], row["window"], row["min_gap_s"]) == (0.02, 4.0, 1.0)
    # the target's rows of that combination (its combo 6)
    t = target[(target["detector"] == "hysteresis") & (target["threshold"] == 0.02)]
    assert t["combo_id"].unique().tolist() == [6]
    tp, fp, n_ev = t["tp"].sum(), t["fp"].sum(), t["n_events"].sum()
    assert (tp, fp, n_ev) == (6, 10, 12)
    p, r, f = precision_recall_f1(tp, fp, n_ev - tp)
    assert row["pooled_precision"] == pytest.approx(p) and row["pooled_recall"] == pytest.approx(r)
    assert row["pooled_f1"] == pytest.approx(12 / 28) and row["pooled_f1"] == pytest.approx(f)
    tpc = t["tp_chance"].sum()
    assert row["pooled_f1_chance"] == pytest.approx(chance_f1(tpc, t["n_detections"].sum(), n_ev))
    assert row["pooled_f1_chance"] == pytest.approx(precision_recall_f1(0.6, 16 - 0.6, 12 - 0.6)[2])
    assert row["false_alarms_per_hour"] == pytest.approx(10 / 2.0)
    assert row["mean_delay_s"] == pytest.approx((3 * 2 + 2 * 6 + 1 * 2) / 6)
    assert row["n_records"] == 4 and row["n_events"] == 12 and row["note"] == ""
    ts = target_study.set_index(["tolerance_s", "policy", "timing"])
    assert row["target_nested_pooled_f1"] == ts.loc[(2.0, "greedy", "change"), "loro_pooled_f1"]
    chosen = out.set_index(["tolerance_s", "timing"]).loc[(2.0, "chosen")]
    assert chosen["candidate_timing"] == "change" and chosen["pooled_f1"] == row["pooled_f1"]
    # the alarm-times pick: the target has no alarm times; tolerance 4 s: not scored by the target
    alarm = out.set_index(["tolerance_s", "timing"]).loc[(2.0, "alarm")]
    assert np.isnan(alarm["pooled_f1"]) and "no combination" in alarm["note"] and "alarm times" in alarm["note"]
    assert np.isnan(alarm["target_nested_pooled_f1"])
    later = out[out["tolerance_s"] == 4.0]
    assert later["pooled_f1"].isna().all() and later["note"].str.contains("did not score tolerance 4 s").all()


def test_transfer_missing_candidates():
    source = study_table(source_metrics(), "src")
    target = target_metrics()
    # another grid: no combination of the source's values
    other = transfer_table(source, "src", target.assign(threshold=target["threshold"] + 1.0), "target", None)
    row = other.set_index(["tolerance_s", "timing"]).loc[(2.0, "change")]
    assert np.isnan(row["pooled_f1"]) and row["n_records"] == 0 and "grid has no combination delta 0.02" in row["note"]
    assert np.isnan(row["target_nested_pooled_f1"])
    # no such pair
    adwin_only = target[target["detector"] == "adwin"]
    row = transfer_table(source, "src", adwin_only, "target").set_index(["tolerance_s", "timing"]).loc[(2.0, "change")]
    assert row["note"] == "the target has no hysteresis/pirr metrics"
    # the pair scored on three of the four records: pooled over those, and said so
    part = target[~((target["detector"] == "hysteresis") & (target["record"] == "t4"))]
    row = transfer_table(source, "src", part, "target").set_index(["tolerance_s", "timing"]).loc[(2.0, "change")]
    assert row["n_records"] == 3 and row["note"] == "scored on 3 of the target's 4 records"
    assert row["false_alarms_per_hour"] == pytest.approx(5 / 1.5)


def test_write_transfer_tables(tmp_path):
    write_parquet(study_table(source_metrics(), "src"), tmp_path / "src_study.parquet")
    target = target_metrics()
    write_parquet(study_table(target, "target"), tmp_path / "target_study.parquet")
    paths = []
    for rec, rows in target.groupby("record"):
        paths.append(tmp_path / "metrics" / f"{rec}.parquet")
        write_parquet(rows.sample(frac=1.0, random_state=1), paths[-1])
    out = tmp_path / "transfer.parquet"
    table = write_transfer_tables({"src": tmp_path / "src_study.parquet"}, paths[::-1],
                                  tmp_path / "target_study.parquet", out, "target")
    expected = transfer_table(study_table(source_metrics(), "src"), "src", target, "target",
                              study_table(target, "target"))
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected)
    pd.testing.assert_frame_equal(table, expected)
    meta = read_metadata(out)
    assert meta["source_studies"] == {"src": str(tmp_path / "src_study.parquet")} and meta["target"] == "target"
    assert meta["target_study"].endswith("target_study.parquet")
    without = write_transfer_tables({"src": tmp_path / "src_study.parquet"}, paths, None, out, "target")
    assert without["target_nested_pooled_f1"].isna().all() and read_metadata(out)["target_study"] is None
