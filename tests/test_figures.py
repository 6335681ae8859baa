"""Report figures and HTML tables on a small result set made by the real chain (tiny records ->
per-record detections -> metrics -> report tables); figure content checked through matplotlib objects."""

from __future__ import annotations

import json
import re

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers_detect import write_record

from ecgflow.parquet import write_parquet
from ecgflow.record_jobs.detect import write_detections
from ecgflow.record_jobs.score import write_metrics
from ecgflow.report import figures as F
from ecgflow.report.html import write_html_tables
from ecgflow.report.tables import write_report_tables

EVALUATION = {"tolerances_s": [1, 2, 4], "pre_tolerance_s": 0, "policies": ["greedy", "optimal"],
              "adaptive_fraction": None, "chance_phases": 4, "seed": 0}
TOL, POLICY = 2.0, "greedy"
GRIDS = {
    "adwin/rr": {"semantics": "river", "params": {"clock": 1},
                 "grid": {"threshold": {"name": "delta", "values": [0.002, 0.05, 0.2]},
                          "window": {"name": "ma_window", "values": [1, 4]}, "min_gap_s": [0, 2]}},
    "pagehinkley/ecg": {"semantics": "river", "params": {},
                        "grid": {"threshold": {"name": "threshold", "values": [5, 50]},
                                 "window": {"name": "ma_window", "values": [25, 100]}, "min_gap_s": [0, 2]}},
}
TABLES = ("detection_metrics", "grid_summary", "best_configs", "study")


def build_results(root, records=("r01", "r02"), with_signal=True):
    """Per-record files of tiny toy records (events at 1/3 and 2/3) and the report tables."""
    paths = {"detections": [], "events": [], "tidy": [], "beats": [], "metrics": []}
    base = root / "results" / "toy"
    setups = GRIDS if with_signal else {k: v for k, v in GRIDS.items() if not k.endswith("/ecg")}
    for i, rec in enumerate(records):
        tidy = write_record(root, record=rec, seed=i)
        if not with_signal:
            tidy.unlink()
        det = base / "detections" / f"{rec}.parquet"
        write_detections(setups, det, dataset="toy", record=rec, tidy_path=tidy if with_signal else None,
                         beats_path=base / "beats" / f"{rec}.parquet")
        met = base / "metrics" / f"{rec}.parquet"
        write_metrics(det, base / "events" / f"{rec}.parquet", EVALUATION, met, {"dataset": "toy", "record": rec})
        paths["detections"].append(det)
        paths["metrics"].append(met)
        paths["events"].append(base / "events" / f"{rec}.parquet")
        paths["beats"].append(base / "beats" / f"{rec}.parquet")
        if with_signal:
            paths["tidy"].append(tidy)
    tables = {k: base / "tables" / f"{k}.parquet" for k in TABLES}
    write_report_tables(paths["metrics"], tables, "toy", "h")
    return paths, tables


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("figures")
    paths, tables = build_results(root)
    return root, paths, tables, pd.read_parquet(tables["grid_summary"]), pd.read_parquet(tables["best_configs"])


def outputs_in(folder):
    return {k: folder / f"{k}.png" for k in F.FIGURES}


def test_write_figures(results, monkeypatch):
    root, paths, tables, _, _ = results
    outputs = outputs_in(root / "figures")
    reads, real = [], pd.read_parquet
    monkeypatch.setattr(pd, "read_parquet", lambda path, *a, **k: reads.append(Path(path)) or real(path, *a, **k))
    F.write_figures(tables, EVALUATION, paths["detections"], paths["events"], paths["tidy"], paths["beats"], outputs)
    for p in outputs.values():
        data = p.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000
    events_read = [p for p in reads if p in set(map(Path, paths["events"]))]
    assert events_read and len(events_read) == len(set(events_read))  # each events table read once


def test_write_figures_annotation_only(tmp_path):
    paths, tables = build_results(tmp_path, with_signal=False)
    outputs = outputs_in(tmp_path / "figures")
    F.write_figures(tables, EVALUATION, paths["detections"], paths["events"], [], paths["beats"], outputs)
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in outputs.values())


def test_heatmap_scale_starts_at_chance_and_hatches_cells_at_chance(results, tmp_path):
    _, _, _, summary, best = results
    fig = F.f1_heatmap(summary, best, TOL, POLICY, tmp_path / "h.png")
    runs = F.at_run(best, TOL, POLICY)
    s = F.at_run(summary, TOL, POLICY)
    plotted = pd.concat([s[(s.detector == r.detector) & (s.stream == r.stream) & (s.min_gap_s == r.best_min_gap_s)]
                         for r in runs.itertuples()])
    beat = runs[runs["insample_f1_mean"] > runs["insample_f1_chance"]]
    vmin = (beat if len(beat) else runs)["insample_f1_chance"].min()
    vmax = max(plotted["f1_mean"].max(), vmin + 0.05)
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == len(runs) == 2
    for im in images:
        assert im.get_clim() == pytest.approx((vmin, vmax))
        assert im.cmap.get_under()[:3] == pytest.approx((0.88, 0.88, 0.88))  # below the scale: grey
    hatched = sum(1 for ax in fig.axes for p in ax.patches if p.get_hatch())
    assert hatched == int((plotted["f1_mean"] <= plotted["f1_chance_mean"]).sum())
    labels = {(ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes if ax.images}
    assert labels == {("ma_window", "delta"), ("ma_window", "threshold")}


def test_heatmap_limits_follow_the_data():
    grids = [pd.DataFrame([[0.2, 0.5], [0.3, 0.4]]), pd.DataFrame([[0.25]]), pd.DataFrame([[0.0]])]
    assert F.heatmap_limits(grids, [0.5, 0.25, 0.0], [0.15, 0.1, 0.0]) == (0.1, 0.5)  # the third never beats chance
    assert F.heatmap_limits([pd.DataFrame([[0.1]])], [0.1], [0.1]) == (0.1, pytest.approx(0.15))


def test_record_figure_panels_legend_and_labels(results, tmp_path):
    _, paths, _, _, best = results
    files = F.RecordFiles(*({p.stem: p for p in paths[k]} for k in ("detections", "events", "tidy", "beats")))
    fig = F.best_record_figure(best, TOL, POLICY, EVALUATION, files, tmp_path / "r.png")
    axes = fig.axes
    assert len(axes) == 3 and all(ax.get_xlabel() == "time (s)" for ax in axes)
    run = F.at_run(best, TOL, POLICY).sort_values("insample_f1_mean", ascending=False).iloc[0]
    assert axes[0].get_ylabel() == "ECG (mV)"
    assert axes[1].get_ylabel() == f"{F.STREAM_LABELS[run['stream']]}\n{run['window_name']} {run['best_window']:g}"
    assert all(ax.get_legend() is None for ax in axes) and len(fig.legends) == 1  # legend outside the data
    entries = [t.get_text() for t in fig.legends[0].get_texts()]
    assert {"rhythm N", "rhythm AFIB", "ground-truth change"} <= set(entries)
    assert {"detection, matched", "detection, false"} & set(entries)
    assert len(axes[0].patches) >= 3  # rhythm episodes shaded: N, AFIB, N


def test_record_figure_says_when_marks_merge(tmp_path):
    t = np.arange(0, 1800, 0.02)
    signal = (t, np.sin(t), "ECG (mV)")
    stream = (t, np.cos(t), "filtered ECG (mV)")
    episodes = [(0.0, 600.0, "(N"), (600.0, 1800.0, "(AFIB")]
    dense = np.arange(1.0, 1800.0, 0.05)  # 20 a second: bars even in a 30 s window
    fig = F.record_figure(signal, stream, episodes, np.array([600.0]), np.array([600.5]), dense, "t", tmp_path / "m.png")
    assert "merge" in fig.axes[1].get_title()
    lo, hi = fig.axes[2].get_xlim()
    assert hi - lo < 30 and lo < 600 < hi
    sparse = np.array([100.0, 900.0])
    fig = F.record_figure(signal, stream, episodes, np.array([600.0]), np.array([600.5]), sparse, "t", tmp_path / "s.png")
    assert "merge" not in fig.axes[1].get_title()
    assert fig.axes[2].get_xlim() == pytest.approx((585.0, 615.0))


def test_delay_histogram_has_integer_count_ticks(tmp_path):
    delays = {("adwin", "rr"): np.array([0.1, 0.2, 0.25, 1.5]), ("ddm", "irr"): np.array([0.3]),
              ("adwin", "ecg"): np.zeros(0)}
    fig = F.delay_distribution(delays, 2.0, "greedy", tmp_path / "d.png")
    for ax in fig.axes:
        ticks = [t for t in ax.get_yticks() if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks)


def test_f1_tolerance_draws_chance_beside_each_curve(results, tmp_path):
    _, _, _, _, best = results
    fig = F.f1_tolerance(best, POLICY, tmp_path / "t.png")
    pairs = best[["detector", "stream"]].drop_duplicates()
    assert len(fig.axes) == len(pairs)
    timings = sorted(best["timing"].unique()) if "timing" in best.columns else ["alarm"]
    for ax in fig.axes:
        assert ax.get_xlabel() == "tolerance (s)" and ax.get_ylabel() == "F1, leave-one-record-out"
        detector, stream = ax.get_title().split(" / ")
        lines = {ln.get_label(): ln for ln in ax.get_lines()}
        for timing in timings:
            rows = best[(best.detector == detector) & (best.stream == stream) & (best.policy == POLICY)]
            if "timing" in rows.columns:
                rows = rows[rows.timing == timing]
            rows = rows.sort_values("tolerance_s")
            chance = lines[f"{timing}: chance"]
            np.testing.assert_allclose(chance.get_xdata(), rows["tolerance_s"])
            np.testing.assert_allclose(chance.get_ydata(), rows["loro_f1_chance"])
            assert chance.get_linestyle() == "--"
    assert [t.get_text() for t in fig.legends[0].get_texts()][:2] == [f"{timings[0]} times", f"{timings[0]}: chance"]


def test_figures_without_events(tmp_path):
    paths, tables = build_results(tmp_path, records=("r01",))
    fig = F.f1_tolerance(pd.read_parquet(tables["best_configs"]), POLICY, tmp_path / "one.png")
    assert {ax.get_ylabel() for ax in fig.axes} == {"F1, in-sample (one record)"}  # no leave-one-out with one record
    best = pd.read_parquet(tables["best_configs"]).iloc[0:0]
    write_parquet(best, tables["best_configs"])
    outputs = outputs_in(tmp_path / "figures")
    F.write_figures(tables, EVALUATION, paths["detections"], paths["events"], paths["tidy"], paths["beats"], outputs)
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in outputs.values())


def test_html_tables(results, tmp_path):
    _, _, tables, summary, best = results
    out = {k: tmp_path / f"{k}.html" for k in ("best_configs", "grid_summary", "study")}
    write_html_tables(tables, EVALUATION, "toy", out)
    page = out["best_configs"].read_text()
    assert page.count("<tr>") == len(best) + 1
    heads = re.findall(r"<th>([^<]*)</th>", page)
    assert heads[:6] == ["method", "tolerance (s)", "policy", "timing", "held-out pooled F1", "its chance F1"]
    shown = [float(v) for v in re.findall(r'<tr><td class="text">[^<]*</td>(?:<td[^>]*>[^<]*</td>){3}<td data-v="([^"]+)"', page)]
    assert shown == sorted(shown, reverse=True) and len(shown) > 1  # best first
    assert "<script>" in page and "sort" in page
    grid = out["grid_summary"].read_text()
    n_at_run = len(F.at_run(summary, TOL, POLICY))
    assert 1 < grid.count("<tr>") - 1 <= n_at_run and "f1_chance_mean" in grid
    study = pd.read_parquet(tables["study"])
    page = out["study"].read_text()
    assert page.count("<tr>") == len(study) + 1 and re.findall(r"<th>([^<]*)</th>", page)[0] == "method"
    assert "loro_pooled_f1_chance" not in page and "its chance F1" in page  # plain titles


def test_envelope_and_reference_run():
    starts, lo, hi = F.envelope(np.array([3.0, 1.0, 5.0, 2.0, 9.0, 0.0]), 3)
    assert starts.tolist() == [0, 2, 4] and lo.tolist() == [1.0, 2.0, 0.0] and hi.tolist() == [3.0, 5.0, 9.0]
    assert F.reference_run([4, 1, 2], ["optimal", "greedy"]) == (2.0, "optimal")
    assert F.reference_run([1, 2, 4, 8], ["greedy"]) == (4.0, "greedy")


def test_rhythm_episodes_from_events():
    ev = pd.DataFrame({"sample": [100, 300], "rhythm_from": ["(N", "(AFIB"], "rhythm_to": ["(AFIB", "(N"]})
    assert F.rhythm_episodes(ev, 500) == [(0, 100, "(N"), (100, 300, "(AFIB"), (300, 500, "(N")]
    assert F.rhythm_episodes(ev.iloc[0:0], 500) == []


@pytest.mark.slow
def test_snakemake_report_holds_tables_figures_and_prose(workflow, done):
    """`snakemake --report` on a finished tiny run: named figures and tables, the landing text in prose."""
    import base64
    import re

    from conftest import run

    run(workflow, done, "--report", "report.html", "report")  # the detection chain only: `done` has no training
    page = (done / "report.html").read_text()
    for name in ("Methods ranked", "F1 over the grid", "F1 against tolerance", "Detection delays",
                 "One record: rhythms, stream and detections", "Best configurations", "Grid summary", "Study"):
        assert f'"{name}"' in page, name
    desc = json.loads(re.search(r"var workflow_desc = (\".*?\");\n", page).group(1))
    assert "The run used 2 generated demo" in desc and "greedy matching" in desc and "['" not in desc
    # the answer comes first: the nested pick per tolerance beside its chance level, before the description
    assert desc.index("The answer") < desc.index("<table") < desc.index("The run used")
    study = pd.read_parquet(done / "results" / "demo" / "tables" / "study.parquet")
    chosen = study[(study["policy"] == "greedy") & (study["timing"] == "chosen")]
    for f1, chance in zip(chosen["loro_pooled_f1"], chosen["loro_pooled_f1_chance"]):
        assert f"{f1:.3g}" in desc and f"{chance:.3g}" in desc
    uri = re.search(r'"data_uri": "data:text/html;charset=utf8;filename=best_configs\.html;base64,([^"]+)"', page).group(1)
    table = base64.b64decode(uri).decode()
    assert "<th>held-out pooled F1</th>" in table and "<th>its chance F1</th>" in table and "<td" in table
