"""Report figures (PNG, matplotlib without a display): F1 heatmaps over the grid, the grid's
precision-recall scatter, delay distributions of the best configurations, and one record's signal
with its events and the best configuration's detections.

Figures show one tolerance and policy, the "reference run": the middle configured tolerance
and the first configured policy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..evaluation import evaluate_detections
from ..parquet import read_metadata


def reference_run(tolerances_s, policies) -> tuple[float, str]:
    """(middle tolerance, first policy) of the evaluation config."""
    tols = sorted(float(t) for t in tolerances_s)
    return tols[len(tols) // 2], policies[0]


def _runs(best: pd.DataFrame, tol: float, policy: str) -> pd.DataFrame:
    return best[(best["tolerance_s"] == tol) & (best["policy"] == policy)].reset_index(drop=True)


def _combos(summary: pd.DataFrame, run, tol: float, policy: str) -> pd.DataFrame:
    """The grid-summary rows of one run (detector and stream) at one tolerance and policy."""
    return summary[(summary["detector"] == run.detector) & (summary["stream"] == run.stream)
                   & (summary["tolerance_s"] == tol) & (summary["policy"] == policy)]


def _panels(n: int, width=4.2, height=3.4):
    cols = min(n, 3) or 1
    rows = max(1, -(-n // cols))
    fig = Figure(figsize=(width * cols, height * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False).ravel())
    for ax in axes[n:]:
        ax.set_axis_off()
    return fig, axes


def _empty(path, text: str) -> None:
    fig = Figure(figsize=(6, 2))
    fig.text(0.5, 0.5, text, ha="center", va="center")
    fig.savefig(path, dpi=100)


def f1_heatmap(summary: pd.DataFrame, best: pd.DataFrame, tol: float, policy: str, path) -> None:
    """Mean F1 over threshold x window at the best configuration's min_gap, per detector and stream."""
    runs = _runs(best, tol, policy)
    if runs.empty:
        return _empty(path, "no scored runs with events")
    fig, axes = _panels(len(runs))
    for ax, run in zip(axes, runs.itertuples()):
        s = _combos(summary, run, tol, policy)
        s = s[s["min_gap_s"] == run.best_min_gap_s]
        grid = s.pivot(index="threshold", columns="window", values="f1_mean").sort_index().sort_index(axis=1)
        im = ax.imshow(grid.to_numpy(), origin="lower", aspect="auto", vmin=0, vmax=1, cmap="viridis")
        for (i, j), v in np.ndenumerate(grid.to_numpy()):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="w" if v < 0.6 else "k")
        ax.set_xticks(range(grid.shape[1]), [f"{w:g}" for w in grid.columns])
        ax.set_yticks(range(grid.shape[0]), [f"{t:g}" for t in grid.index])
        ax.set_xlabel(run.window_name)
        ax.set_ylabel(run.threshold_name)
        ax.set_title(f"{run.detector} / {run.stream}, min_gap {run.best_min_gap_s:g} s\n"
                     f"chance F1 of best {run.insample_f1_chance:.2f}", fontsize=9)
    fig.colorbar(im, ax=list(axes[:len(runs)]), label="mean F1 across records", shrink=0.8)
    fig.suptitle(f"F1 over the grid (tolerance {tol:g} s, {policy})")
    fig.savefig(path, dpi=100)


def pr_scatter(summary: pd.DataFrame, best: pd.DataFrame, tol: float, policy: str, path) -> None:
    """Mean precision against mean recall of every grid combination, per detector and stream."""
    runs = _runs(best, tol, policy)
    if runs.empty:
        return _empty(path, "no scored runs with events")
    fig, axes = _panels(len(runs))
    for ax, run in zip(axes, runs.itertuples()):
        s = _combos(summary, run, tol, policy)
        sc = ax.scatter(s["recall_mean"], s["precision_mean"], c=s["min_gap_s"], s=8, cmap="plasma", alpha=0.7)
        b = s[s["combo_id"] == run.best_combo_id]
        ax.scatter(b["recall_mean"], b["precision_mean"], marker="*", s=120, c="k", label="best mean F1")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_title(f"{run.detector} / {run.stream}", fontsize=9)
        ax.legend(fontsize=7, loc="upper right")
    fig.colorbar(sc, ax=list(axes[:len(runs)]), label="min_gap (s)", shrink=0.8)
    fig.suptitle(f"Precision-recall of the grid (tolerance {tol:g} s, {policy}; means across records)")
    fig.savefig(path, dpi=100)


def combo_samples(path, combo_id: int) -> np.ndarray:
    """Detection samples of one combination in a detections file."""
    df = pd.read_parquet(path, columns=["combo_id", "sample"], filters=[("combo_id", "==", int(combo_id))])
    return df["sample"].to_numpy(np.int64)


def _events(path) -> tuple[np.ndarray, dict]:
    return pd.read_parquet(path, columns=["sample"])["sample"].to_numpy(np.int64), read_metadata(path)


def best_delays(best: pd.DataFrame, tol: float, policy: str, detections: dict, events: dict) -> dict:
    """Delays (s) of every match of each run's best combination, pooled over records.

    ``detections``: {(detector, stream, record): path}; ``events``: {record: path}."""
    out = {}
    for run in _runs(best, tol, policy).itertuples():
        delays = []
        for (det, stream, rec), path in sorted(detections.items()):
            if (det, stream) != (run.detector, run.stream):
                continue
            ev, meta = _events(events[rec])
            fs = float(meta["fs"])
            m = evaluate_detections(combo_samples(path, run.best_combo_id), ev, round(tol * fs), policy=policy)
            delays.append(m["delays"] / fs)
        out[(run.detector, run.stream)] = np.concatenate(delays) if delays else np.zeros(0)
    return out


def delay_distribution(delays: dict, tol: float, policy: str, path) -> None:
    """Histogram of the detection delays of each run's best combination."""
    if not delays:
        return _empty(path, "no scored runs with events")
    fig, axes = _panels(len(delays), height=2.8)
    bins = np.linspace(0, tol, 21) if tol > 0 else 10
    for ax, ((det, stream), d) in zip(axes, delays.items()):
        ax.hist(d, bins=bins, color="tab:blue")
        if len(d):
            ax.axvline(np.median(d), color="k", ls="--", label=f"median {np.median(d):.2f} s")
            ax.legend(fontsize=7)
        ax.set_title(f"{det} / {stream} ({len(d)} matches)", fontsize=9)
        ax.set_xlabel("delay (s)")
        ax.set_ylabel("matches")
    fig.suptitle(f"Detection delay of the best configuration (tolerance {tol:g} s, {policy})")
    fig.savefig(path, dpi=100)


def envelope(y: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bin start index, min, max) of ``y`` in ``n_bins`` equal bins: a plot-sized summary."""
    n_bins = max(1, min(n_bins, len(y)))
    starts = np.linspace(0, len(y), n_bins + 1).astype(np.int64)[:-1]
    return starts, np.minimum.reduceat(y, starts), np.maximum.reduceat(y, starts)


def record_figure(time_s: np.ndarray, y: np.ndarray, ylabel: str, events_s: np.ndarray, matched_s: np.ndarray,
                  false_s: np.ndarray, title: str, path, zoom_s: float = 30.0) -> None:
    """A record's signal (min/max envelope) with events and detections; below, a zoom at full
    resolution around the first event."""
    fig = Figure(figsize=(12, 5.5), layout="constrained")
    top, bottom = fig.subplots(2, 1)
    if len(y):
        starts, lo, hi = envelope(y, 3000)
        top.fill_between(time_s[starts], lo, hi, color="0.4", lw=0, step="post")
    centre = events_s[0] if len(events_s) else (time_s[0] if len(time_s) else 0.0)
    inside = (time_s >= centre - zoom_s / 2) & (time_s <= centre + zoom_s / 2)
    bottom.plot(time_s[inside], y[inside], color="0.3", lw=0.7)
    for ax, lim in ((top, None), (bottom, (centre - zoom_s / 2, centre + zoom_s / 2))):
        for i, e in enumerate(events_s):
            ax.axvline(e, color="tab:green", lw=1.5, label="event" if i == 0 else None)
        for xs, color, label in ((matched_s, "tab:blue", "detection (matched)"), (false_s, "tab:red", "detection (false)")):
            if len(xs):
                ax.vlines(xs, 0.85, 1.0, transform=ax.get_xaxis_transform(), color=color, lw=1.2, label=label)
        ax.set_ylabel(ylabel)
        if lim:
            ax.set_xlim(*lim)
    top.legend(fontsize=7, loc="upper right", ncols=3)
    top.set_title(title, fontsize=10)
    bottom.set_xlabel("time (s)")
    bottom.set_title(f"{zoom_s:g} s around the first event", fontsize=9)
    fig.savefig(path, dpi=100)


def best_record_figure(best: pd.DataFrame, tol: float, policy: str, detections: dict, events: dict,
                       signals: dict, beats: dict, path) -> None:
    """:func:`record_figure` for the run with the best in-sample mean F1, on its record with the
    most events (ties: first record name): the tidy ECG where there is one, else the RR series."""
    runs = _runs(best, tol, policy)
    if runs.empty:
        return _empty(path, "no scored runs with events")
    run = runs.iloc[int(np.argmax(np.round(runs["insample_f1_mean"].to_numpy(), 12)))]
    records = sorted(r for (d, s, r) in detections if (d, s) == (run["detector"], run["stream"]))
    n_ev = [len(_events(events[r])[0]) for r in records]
    rec = records[int(np.argmax(n_ev))]
    ev, meta = _events(events[rec])
    fs = float(meta["fs"])
    det = combo_samples(detections[(run["detector"], run["stream"], rec)], run["best_combo_id"])
    m = evaluate_detections(det, ev, round(tol * fs), policy=policy)
    matched = np.isin(det, m["pairs"][:, 0])
    if rec in signals:
        sig = pd.read_parquet(signals[rec], columns=["time_s", "ecg"])
        t, y, label = sig["time_s"].to_numpy(), sig["ecg"].to_numpy(np.float64), "ECG (mV)"
    else:
        b = pd.read_parquet(beats[rec], columns=["sample", "rr_s"]).dropna()
        t, y, label = b["sample"].to_numpy() / fs, b["rr_s"].to_numpy(np.float64), "RR (s)"
    title = (f"record {rec}: {run['detector']} / {run['stream']}, combo {run['best_combo_id']} "
             f"({run['threshold_name']} {run['best_threshold']:g}, {run['window_name']} {run['best_window']:g}, "
             f"min_gap {run['best_min_gap_s']:g} s); F1 {m['f1']:.2f}, tolerance {tol:g} s, {policy}")
    record_figure(t, y, label, ev / fs, det[matched] / fs, det[~matched] / fs, title, path)


def write_figures(tables: dict, evaluation: dict, detections: list, events: list, signals: list,
                  beats: list, outputs: dict) -> None:
    """All report figures from the report tables and the per-record files (paths as laid out in
    results/{dataset}/: detections/{detector}/{stream}/{record}.parquet, events|tidy|beats/{record}.parquet)."""
    summary = pd.read_parquet(tables["grid_summary"])
    best = pd.read_parquet(tables["best_configs"])
    tol, policy = reference_run(evaluation["tolerances_s"], evaluation["policies"])
    det_map = {(Path(p).parts[-3], Path(p).parts[-2], Path(p).stem): p for p in detections}
    ev_map, sig_map, beat_map = ({Path(p).stem: p for p in ps} for ps in (events, signals, beats))
    for key in ("f1_heatmap", "pr_scatter", "delay_distribution", "record_detections"):
        Path(outputs[key]).parent.mkdir(parents=True, exist_ok=True)
    f1_heatmap(summary, best, tol, policy, outputs["f1_heatmap"])
    pr_scatter(summary, best, tol, policy, outputs["pr_scatter"])
    delay_distribution(best_delays(best, tol, policy, det_map, ev_map), tol, policy, outputs["delay_distribution"])
    best_record_figure(best, tol, policy, det_map, ev_map, sig_map, beat_map, outputs["record_detections"])
