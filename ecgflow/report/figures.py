"""Report figures (PNG, matplotlib without a display): F1 heatmaps over the grid, the grid's
precision-recall scatter, F1 against tolerance, delay distributions of the best configurations, and
one record with its rhythms, the stream the detector saw and the best configuration's detections.

Figures other than F1 against tolerance show one tolerance, policy and timing, the "reference run":
the middle scored tolerance, the first configured policy, and change times (each detection's estimate
of when the rhythm changed, the timing the study's choices mostly take; alarm times are the samples at
which a detector fired). Each figure's title says which it shows. The ranking figure puts every
detector and stream side by side: its leave-one-record-out pooled F1 beside its chance level, and the
study's nested pick. Each drawing function returns its :class:`~matplotlib.figure.Figure`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps as plt_colormaps
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator

from ..evaluation import evaluate_detections
from ..parquet import read_metadata, save_png
from ..streams import INTEGER_WINDOWS, build_stream
from ..sweep import read_record_tables

REFERENCE_TIMING = "change"
TIMING_COLUMN = {"alarm": "alarm_sample", "change": "change_sample"}
DPI = 100
RHYTHM_COLOURS = {"(N": "0.85", "(AFIB": "tab:red", "(AFL": "tab:orange", "(J": "tab:purple", "(T": "tab:brown",
                  "(B": "tab:pink", "(VT": "tab:olive", "(SVTA": "tab:cyan", "(NOD": "tab:green", "(SBR": "tab:blue",
                  "(P": "tab:gray", "(PREX": "gold", "(IVR": "navy", "(VFL": "black", "(AB": "teal", "(BII": "magenta"}
UNDER_COLOUR = "0.88"  # heatmap cells below the colour scale's start
MERGE_PX = 3  # detections closer than this many pixels (median spacing) merge into a bar


def reference_run(tolerances_s, policies) -> tuple[float, str]:
    """(middle tolerance, first policy): ``tolerances_s`` as scored (the tables' own, since the config
    may leave them to the dataset's defaults), ``policies`` as configured."""
    tols = sorted(float(t) for t in tolerances_s)
    return (tols[len(tols) // 2] if tols else float("nan")), policies[0]


def at_run(table: pd.DataFrame, tol: float, policy: str, timing: str = REFERENCE_TIMING) -> pd.DataFrame:
    """Rows of one tolerance, policy and timing (tables without a timing column hold alarm times)."""
    keep = (table["tolerance_s"] == tol) & (table["policy"] == policy)
    if "timing" in table.columns:
        keep &= table["timing"] == timing
    return table[keep].reset_index(drop=True)


def _combos(summary: pd.DataFrame, run) -> pd.DataFrame:
    """The grid-summary rows of one run's detector and stream (``summary`` already at one run)."""
    return summary[(summary["detector"] == run.detector) & (summary["stream"] == run.stream)]


def _panels(n: int, width=4.2, height=3.4, cols=3):
    cols = min(n, cols) or 1
    rows = max(1, -(-n // cols))
    fig = Figure(figsize=(width * cols, height * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False).ravel())
    for ax in axes[n:]:
        ax.set_axis_off()
    return fig, axes[:n]


def _empty(path, text: str) -> Figure:
    fig = Figure(figsize=(6, 2))
    fig.text(0.5, 0.5, text, ha="center", va="center")
    save_png(fig, path, DPI)
    return fig


def heatmap_limits(grids: list[pd.DataFrame], best_f1, chances) -> tuple[float, float]:
    """Colour limits shared by the F1 heatmaps: from the lowest chance level among the panels whose
    best configuration beats its chance level (all panels when none does) to the highest F1 in any
    panel (at least 0.05 apart)."""
    best_f1, chances = np.asarray(best_f1, float), np.asarray(chances, float)
    beat = best_f1 > chances
    vmin = float(np.nanmin(chances[beat] if beat.any() else chances))
    vmax = max([float(np.nanmax(g.to_numpy())) for g in grids if g.size] + [vmin])
    return vmin, max(vmax, vmin + 0.05)


def f1_heatmap(summary: pd.DataFrame, best: pd.DataFrame, tol: float, policy: str, path) -> Figure:
    """Mean F1 over threshold x window at the best configuration's min_gap, per detector and stream,
    on one colour scale that starts at the lowest chance level; cells not above their own
    combination's chance F1 are hatched."""
    runs = at_run(best, tol, policy)
    if runs.empty:
        return _empty(path, "no scored runs with events")
    summary = at_run(summary, tol, policy)
    grids, chance_grids = [], []
    for run in runs.itertuples():
        s = _combos(summary, run)
        s = s[s["min_gap_s"] == run.best_min_gap_s]
        grids.append(s.pivot(index="threshold", columns="window", values="f1_mean").sort_index().sort_index(axis=1))
        chance_grids.append(s.pivot(index="threshold", columns="window", values="f1_chance_mean").reindex_like(grids[-1]))
    vmin, vmax = heatmap_limits(grids, runs["insample_f1_mean"], runs["insample_f1_chance"])
    cmap = plt_colormaps["viridis"].with_extremes(under=UNDER_COLOUR)
    fig, axes = _panels(len(runs))
    for ax, run, grid, chance in zip(axes, runs.itertuples(), grids, chance_grids):
        values = grid.to_numpy()
        im = ax.imshow(values, origin="lower", aspect="auto", vmin=vmin, vmax=vmax, cmap=cmap)
        for (i, j), v in np.ndenumerate(values):
            dark = vmin <= v < vmin + 0.6 * (vmax - vmin)
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="w" if dark else "k")
            if not v > chance.to_numpy()[i, j]:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", edgecolor="0.6", lw=0))
        ax.set_xticks(range(grid.shape[1]), [f"{w:g}" for w in grid.columns])
        ax.set_yticks(range(grid.shape[0]), [f"{t:g}" for t in grid.index])
        ax.set_xlabel(run.window_name)
        ax.set_ylabel(run.threshold_name)
        ax.set_title(f"{run.detector} / {run.stream}, min_gap {run.best_min_gap_s:g} s\n"
                     f"best F1 {run.insample_f1_mean:.2f}, its chance F1 {run.insample_f1_chance:.2f}", fontsize=9)
    cbar = fig.colorbar(im, ax=list(axes), shrink=0.8, extend="min", label="mean F1 across records")
    cbar.ax.axhline(vmin, color="r", lw=2)
    fig.suptitle(f"F1 over the grid (tolerance {tol:g} s, {policy} matching, {REFERENCE_TIMING} times)\ncolour scale from the lowest chance F1 of "
                 f"a best configuration that beats it ({vmin:.2f}; grey: below); hatched: not above the cell's own chance F1")
    save_png(fig, path, DPI)
    return fig


def pr_scatter(summary: pd.DataFrame, best: pd.DataFrame, tol: float, policy: str, path) -> Figure:
    """Mean precision against mean recall of every grid combination, per detector and stream."""
    runs = at_run(best, tol, policy)
    if runs.empty:
        return _empty(path, "no scored runs with events")
    summary = at_run(summary, tol, policy)
    fig, axes = _panels(len(runs))
    for ax, run in zip(axes, runs.itertuples()):
        s = _combos(summary, run)
        sc = ax.scatter(s["recall_mean"], s["precision_mean"], c=s["min_gap_s"], s=8, cmap="plasma", alpha=0.7)
        b = s[s["combo_id"] == run.best_combo_id]
        ax.scatter(b["recall_mean"], b["precision_mean"], marker="*", s=120, c="k", label="best mean F1")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_title(f"{run.detector} / {run.stream}", fontsize=9)
        ax.legend(fontsize=7, loc="upper right")
    fig.colorbar(sc, ax=list(axes), label="min_gap (s)", shrink=0.8)
    fig.suptitle(f"Precision-recall of the grid (tolerance {tol:g} s, {policy} matching, {REFERENCE_TIMING} times)"
                 "\nmeans across records")
    save_png(fig, path, DPI)
    return fig


def f1_tolerance(best: pd.DataFrame, policy: str, path) -> Figure:
    """Leave-one-record-out F1 (mean +- std over records) against tolerance, one panel per detector and
    stream, one line per timing, each with its chance level (dashed) beside it. With a single record
    (no leave-one-out estimate) the in-sample F1 is drawn instead, and the panel says so."""
    b = best[best["policy"] == policy]
    if b.empty:
        return _empty(path, "no scored runs with events")
    timings = sorted(b["timing"].unique()) if "timing" in b.columns else [REFERENCE_TIMING]
    pairs = b[["detector", "stream"]].drop_duplicates().sort_values(["detector", "stream"]).itertuples(index=False)
    pairs = list(pairs)
    fig, axes = _panels(len(pairs), width=3.6, height=2.9, cols=4)
    handles = {}
    for ax, (detector, stream) in zip(axes, pairs):
        p = b[(b["detector"] == detector) & (b["stream"] == stream)]
        loro = p["loro_f1_mean"].notna().any()
        est = "loro" if loro else "insample"
        for k, timing in enumerate(timings):
            t = (p[p["timing"] == timing] if "timing" in p.columns else p).sort_values("tolerance_s")
            colour = f"C{k}"
            handles[f"{timing} times"] = ax.errorbar(
                t["tolerance_s"], t[f"{est}_f1_mean"], yerr=t["loro_f1_std"] if loro else None, color=colour,
                marker="o", ms=4, capsize=2, label=f"{timing} times")
            handles[f"{timing}: chance"] = ax.plot(t["tolerance_s"], t[f"{est}_f1_chance"], color=colour, ls="--", lw=1,
                                                   label=f"{timing}: chance")[0]
        ax.set_ylim(-0.02, 1.02)
        ax.set_xticks(sorted(p["tolerance_s"].unique()))
        ax.set_xlabel("tolerance (s)")
        ax.set_ylabel("F1, leave-one-record-out" if loro else "F1, in-sample (one record)")
        ax.set_title(f"{detector} / {stream}", fontsize=9)
    fig.legend(list(handles.values()), list(handles), loc="outside right upper", fontsize=8)
    fig.suptitle(f"F1 against tolerance ({policy} matching)\nmean \u00b1 std over held-out records; dashed: chance level")
    save_png(fig, path, DPI)
    return fig


def combo_times(path, detector: str, stream: str, combo_id: int, timing: str = REFERENCE_TIMING) -> np.ndarray:
    """Detection samples (``timing``: alarm or change) of one combination of one pair in a per-record
    detections file, in alarm order."""
    column = TIMING_COLUMN[timing]
    df = pd.read_parquet(path, columns=["detector", "stream", "combo_id", column],
                         filters=[("detector", "==", detector), ("stream", "==", stream), ("combo_id", "==", int(combo_id))])
    return df[column].to_numpy(np.int64)


@dataclass
class RecordFiles:
    """A dataset's per-record files, ``{record: path}`` each: ``detections`` (every pair), ``events``,
    ``signals`` (tidy tables; records without a signal absent) and ``beats``. Each events table and each
    detections file's metadata is read once, however many runs look at it."""

    detections: dict
    events: dict
    signals: dict
    beats: dict
    _read: dict = field(default_factory=dict, repr=False)

    def events_of(self, record: str) -> tuple[pd.DataFrame, dict]:
        """The record's events table and its metadata."""
        if ("events", record) not in self._read:
            path = self.events[record]
            self._read["events", record] = (pd.read_parquet(path), read_metadata(path))
        return self._read["events", record]

    def runs_of(self, record: str) -> dict:
        """The sweep metadata of each pair in the record's detections file (``runs``)."""
        if ("runs", record) not in self._read:
            self._read["runs", record] = read_metadata(self.detections[record]).get("runs", {})
        return self._read["runs", record]

    def pair_records(self, detector: str, stream: str) -> list[str]:
        """Records whose detections file holds the pair, sorted."""
        return [r for r in sorted(self.detections) if f"{detector}/{stream}" in self.runs_of(r)]


def _evaluate(det: np.ndarray, events: pd.DataFrame, meta: dict, tol: float, policy: str, evaluation: dict) -> dict:
    fs = float(meta["fs"])
    return evaluate_detections(det, events["sample"].to_numpy(np.int64), round(tol * fs),
                               pre_tolerance=round(float(evaluation.get("pre_tolerance_s", 0)) * fs), policy=policy,
                               adaptive_fraction=evaluation.get("adaptive_fraction"), n_samples=meta.get("n_samples"))


def best_delays(best: pd.DataFrame, tol: float, policy: str, evaluation: dict, files: RecordFiles) -> dict:
    """Delays (s) of every match of each run's best combination at alarm times, pooled over records."""
    out = {}
    for run in at_run(best, tol, policy).itertuples():
        delays = []
        for rec in files.pair_records(run.detector, run.stream):
            ev, meta = files.events_of(rec)
            det = combo_times(files.detections[rec], run.detector, run.stream, run.best_combo_id)
            delays.append(_evaluate(det, ev, meta, tol, policy, evaluation)["delays"] / float(meta["fs"]))
        out[(run.detector, run.stream)] = np.concatenate(delays) if delays else np.zeros(0)
    return out


def delay_distribution(delays: dict, tol: float, policy: str, path, pre_tolerance_s: float = 0.0) -> Figure:
    """Histogram of the detection delays of each run's best combination (integer count ticks)."""
    if not delays:
        return _empty(path, "no scored runs with events")
    fig, axes = _panels(len(delays), height=2.8)
    bins = np.linspace(-pre_tolerance_s, tol, 21) if tol > 0 else 10
    for ax, ((det, stream), d) in zip(axes, delays.items()):
        ax.hist(d, bins=bins, color="tab:blue")
        if len(d):
            ax.axvline(np.median(d), color="k", ls="--", label=f"median {np.median(d):.2f} s")
            ax.legend(fontsize=7)
        else:
            ax.set_ylim(0, 1)
            ax.text(0.5, 0.5, "no matches", transform=ax.transAxes, ha="center", va="center")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(f"{det} / {stream} ({len(d)} match{'' if len(d) == 1 else 'es'})", fontsize=9)
        ax.set_xlabel("delay (s)")
        ax.set_ylabel("matches")
    fig.suptitle(f"Detection delay of the best configuration\n(tolerance {tol:g} s, {policy} matching, {REFERENCE_TIMING} times)")
    save_png(fig, path, DPI)
    return fig


def envelope(y: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bin start index, min, max) of ``y`` in ``n_bins`` equal bins: a plot-sized summary."""
    n_bins = max(1, min(n_bins, len(y)))
    starts = np.linspace(0, len(y), n_bins + 1).astype(np.int64)[:-1]
    return starts, np.minimum.reduceat(y, starts), np.maximum.reduceat(y, starts)


def rhythm_episodes(events: pd.DataFrame, n_samples: int) -> list[tuple[int, int, str]]:
    """(start, end, rhythm) of each episode, from the events table (before the first event: its
    ``rhythm_from``). Empty without events."""
    if events.empty:
        return []
    starts = np.r_[0, events["sample"].to_numpy(np.int64)]
    ends = np.r_[starts[1:], n_samples]
    labels = [events["rhythm_from"].iloc[0], *events["rhythm_to"]]
    return [(int(s), int(e), str(r)) for s, e, r in zip(starts, ends, labels) if e > s]


def _rhythm_colour(rhythm: str, order: list[str]) -> str:
    return RHYTHM_COLOURS.get(rhythm, f"C{order.index(rhythm) % 10}")


def marks_merge(times_s: np.ndarray, span_s: float, width_px: float) -> bool:
    """Whether detections drawn over ``span_s`` seconds on ``width_px`` pixels merge into a bar: their
    median spacing is below :data:`MERGE_PX` pixels."""
    return len(times_s) > 1 and float(np.median(np.diff(np.sort(times_s)))) < MERGE_PX * span_s / width_px


def record_figure(signal: tuple, stream: tuple, episodes_s: list, events_s: np.ndarray, matched_s: np.ndarray,
                  false_s: np.ndarray, title: str, path, zoom_s: float = 30.0) -> Figure:
    """One record in three panels sharing the rhythm shading (one colour per rhythm) and the
    ground-truth events: the signal (``(time_s, values, label)``: ECG envelope or RR tachogram), the
    stream the detector saw with its detections (matched, false), and a zoom of the stream around the
    first event. When the detections are so many that their marks merge, the title says so and the
    zoom narrows until they separate."""
    (t_sig, y_sig, sig_label), (t_str, y_str, str_label) = signal, stream
    fig = Figure(figsize=(13, 8), layout="constrained")
    ax_sig, ax_str, ax_zoom = fig.subplots(3, 1)
    span = max((t_sig[-1] - t_sig[0]) if len(t_sig) else 0.0, 1e-9)
    width_px = 0.85 * fig.get_figwidth() * DPI
    detections = np.sort(np.r_[matched_s, false_s])
    merge = marks_merge(detections, span, width_px)
    if merge:
        gap = float(np.median(np.diff(detections)))
        zoom_s = float(np.clip(gap * width_px / (4 * MERGE_PX), 2.0, zoom_s))
    centre = events_s[0] if len(events_s) else (t_str[0] if len(t_str) else 0.0)
    window = (centre - zoom_s / 2, centre + zoom_s / 2)
    if len(y_sig) > 4000:
        starts, lo, hi = envelope(y_sig, 3000)
        ax_sig.fill_between(t_sig[starts], lo, hi, color="0.3", lw=0, step="post")
    else:
        ax_sig.plot(t_sig, y_sig, color="0.3", lw=0.7, marker="." if len(y_sig) < 500 else None, ms=2)
    if len(y_str) > 4000:
        starts, lo, hi = envelope(y_str, 3000)
        ax_str.fill_between(t_str[starts], lo, hi, color="0.3", lw=0, step="post")
    else:
        ax_str.plot(t_str, y_str, color="0.3", lw=0.8)
    inside = (t_str >= window[0]) & (t_str <= window[1])
    ax_zoom.plot(t_str[inside], y_str[inside], color="0.3", lw=0.8)
    order = list(dict.fromkeys(r for _, _, r in episodes_s))
    handles = {}
    for ax in (ax_sig, ax_str, ax_zoom):
        for start, end, rhythm in episodes_s:
            ax.axvspan(start, end, color=_rhythm_colour(rhythm, order), alpha=0.25, lw=0)
            handles.setdefault(f"rhythm {rhythm.lstrip('(')}", Patch(color=_rhythm_colour(rhythm, order), alpha=0.25))
        for e in events_s:
            line = ax.axvline(e, color="k", lw=1.2, ls=":")
            handles.setdefault("ground-truth change", line)
        ax.set_xlabel("time (s)")
    for ax in (ax_str, ax_zoom):
        for xs, colour, label in ((matched_s, "tab:blue", "detection, matched"), (false_s, "tab:red", "detection, false")):
            if len(xs):
                handles.setdefault(label, ax.vlines(xs, 0.8, 1.0, transform=ax.get_xaxis_transform(), color=colour, lw=1.5))
    ax_sig.set_ylabel(sig_label)
    ax_str.set_ylabel(str_label)
    ax_zoom.set_ylabel(str_label)
    ax_zoom.set_xlim(*window)
    ax_sig.set_title(title, fontsize=10)
    n_det = len(detections)
    ax_str.set_title(f"the stream the detector saw, with its {n_det} detections"
                     + (" (so many that their marks merge into bars at this scale: see the zoom below)" if merge else ""),
                     fontsize=9)
    ax_zoom.set_title(f"zoom: {zoom_s:.3g} s around the first change", fontsize=9)
    fig.legend(list(handles.values()), list(handles), loc="outside right upper", fontsize=8)
    save_png(fig, path, DPI)
    return fig


STREAM_LABELS = {"ecg": "filtered ECG (mV)", "rr": "RR, moving average (s)", "drr": "|dRR|, moving average (s)",
                 "irr": "irregular beat (0/1)", "cosen": "COSEn", "pirr": "share of irregular beats", "nrmssd": "nRMSSD"}


def _detector_stream(run, rec: str, files: RecordFiles):
    """(time_s, values, label) of the stream ``run``'s best combination read on record ``rec``."""
    meta = files.runs_of(rec)[f"{run['detector']}/{run['stream']}"]
    stream = run["stream"]
    tables, rec_meta = read_record_tables(stream, tidy_path=files.signals.get(rec), beats_path=files.beats.get(rec))
    window = run["best_window"]
    window = int(window) if run["window_name"] in INTEGER_WINDOWS else float(window)
    fs = float(rec_meta["fs"])
    values, positions = build_stream(stream, window, fs=fs, diff=meta.get("diff", False),
                                     params=meta.get("stream_params") or {}, source=str(files.detections[rec]),
                                     **tables)
    label = (f"{STREAM_LABELS.get(stream, stream)}\n{run['window_name']} {window:g}"
             + (", first difference" if meta.get("diff") else ""))
    return positions / fs, values, label


def best_record_figure(best: pd.DataFrame, tol: float, policy: str, evaluation: dict, files: RecordFiles,
                       path) -> Figure:
    """:func:`record_figure` for the run with the best in-sample mean F1 (change times), on its record
    with the most events (ties: first record name): the tidy ECG where there is one, else the RR
    tachogram, then the stream that run's best combination saw."""
    runs = at_run(best, tol, policy)
    if runs.empty:
        return _empty(path, "no scored runs with events")
    run = runs.iloc[int(np.argmax(np.round(runs["insample_f1_mean"].to_numpy(), 12)))]
    records = files.pair_records(run["detector"], run["stream"])
    n_ev = [len(files.events_of(r)[0]) for r in records]
    rec = records[int(np.argmax(n_ev))]
    ev, meta = files.events_of(rec)
    fs = float(meta["fs"])
    det = combo_times(files.detections[rec], run["detector"], run["stream"], run["best_combo_id"])
    m = _evaluate(det, ev, meta, tol, policy, evaluation)
    matched = np.isin(det, m["pairs"][:, 0])
    if rec in files.signals:
        sig = pd.read_parquet(files.signals[rec], columns=["time_s", "ecg"])
        signal = (sig["time_s"].to_numpy(), sig["ecg"].to_numpy(np.float64), "ECG (mV)")
    else:
        b = pd.read_parquet(files.beats[rec], columns=["sample", "rr_s"]).dropna()
        signal = (b["sample"].to_numpy() / fs, b["rr_s"].to_numpy(np.float64), "RR tachogram (s)")
    n_samples = int(meta.get("n_samples") or (signal[0][-1] * fs + 1))
    episodes = [(s / fs, e / fs, r) for s, e, r in rhythm_episodes(ev, n_samples)]
    title = (f"record {rec}: {run['detector']} / {run['stream']}, best in-sample combination {run['best_combo_id']} "
             f"({run['threshold_name']} {run['best_threshold']:g}, {run['window_name']} {run['best_window']:g}, "
             f"min_gap {run['best_min_gap_s']:g} s); F1 {m['f1']:.2f} on this record (tolerance {tol:g} s, {policy}, "
             f"{REFERENCE_TIMING} times)")
    stream = _detector_stream(run, rec, files)
    return record_figure(signal, stream, episodes, ev["sample"].to_numpy() / fs, det[matched] / fs, det[~matched] / fs,
                         title, path)


def ranking(best: pd.DataFrame, study: pd.DataFrame, tol: float, policy: str, path) -> Figure:
    """Every detector and stream at one tolerance and policy, best first: its leave-one-record-out pooled F1
    (each record scored with the combination chosen on the others; the better of its two timings) with
    its chance level drawn beside it, and the study's nested pick (the choice among all of them) as a line."""
    runs = best[(best["tolerance_s"] == tol) & (best["policy"] == policy)]
    if runs.empty:
        return _empty(path, "no scored runs")
    runs = runs.loc[runs.groupby(["detector", "stream"], sort=True)["loro_pooled_f1"].idxmax()]
    runs = runs.sort_values(["loro_pooled_f1", "detector", "stream"], ascending=[True, False, False], kind="stable")
    labels = [f"{d} / {s} ({t})" for d, s, t in zip(runs["detector"], runs["stream"], runs["timing"])]
    fig = Figure(figsize=(8, 1.2 + 0.32 * len(runs)), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(runs))
    ax.barh(y, runs["loro_pooled_f1"], color="tab:blue", label="leave-one-record-out pooled F1")
    ax.scatter(runs["loro_pooled_f1_chance"], y, marker="|", s=200, color="tab:red", zorder=3, label="its chance level")
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("pooled F1")
    nested = study[(study["tolerance_s"] == tol) & (study["policy"] == policy) & (study["timing"] == "chosen")]
    if len(nested) and np.isfinite(nested["loro_pooled_f1"].iloc[0]):
        row = nested.iloc[0]
        ax.axvline(row["loro_pooled_f1"], color="k", ls="--", lw=1,
                   label=f"nested pick ({row['picked_detector']} / {row['picked_stream']}): {row['loro_pooled_f1']:.2f}")
    ax.legend(loc="lower right", fontsize=8)
    top = runs.iloc[-1]
    ax.set_title(f"Methods ranked (tolerance {tol:g} s, {policy} matching): best {top['detector']} / {top['stream']} "
                 f"{top['loro_pooled_f1']:.2f}, chance {top['loro_pooled_f1_chance']:.2f}", fontsize=10)
    save_png(fig, path, DPI)
    return fig


FIGURES = ("ranking", "f1_heatmap", "pr_scatter", "f1_tolerance", "delay_distribution", "record_detections")


def write_figures(tables: dict, evaluation: dict, detections: list, events: list, signals: list,
                  beats: list, outputs: dict) -> None:
    """All report figures (``outputs``: a path per name of :data:`FIGURES`) from the report tables
    (``grid_summary``, ``best_configs``, ``study``) and the per-record files of results/{dataset}/:
    detections/{record}.parquet (every pair) and events|tidy|beats/{record}.parquet."""
    summary = pd.read_parquet(tables["grid_summary"])
    best = pd.read_parquet(tables["best_configs"])
    tol, policy = reference_run(summary["tolerance_s"].unique(), evaluation["policies"])
    ranking(best, pd.read_parquet(tables["study"]), tol, policy, outputs["ranking"])
    files = RecordFiles(*({Path(p).stem: p for p in ps} for ps in (detections, events, signals, beats)))
    f1_heatmap(summary, best, tol, policy, outputs["f1_heatmap"])
    pr_scatter(summary, best, tol, policy, outputs["pr_scatter"])
    f1_tolerance(best, policy, outputs["f1_tolerance"])
    delays = best_delays(best, tol, policy, evaluation, files)
    delay_distribution(delays, tol, policy, outputs["delay_distribution"], float(evaluation.get("pre_tolerance_s", 0)))
    best_record_figure(best, tol, policy, evaluation, files, outputs["record_detections"])
