"""AF episodes and AF burden of one chosen two-state configuration, per record.

A *configuration* is ``{detector, stream, threshold, window, min_gap_s, timing}``: one combination of a
(detector, stream) pair's grid and the sample column of its detections that marks an episode boundary
(``timing`` "change", the default: ``change_sample``; "alarm": ``alarm_sample``). Only two-state
detectors (``direction`` +1 into the high state, -1 back) make episodes; they are built by
:func:`ecgflow.evaluation.cpsc2021.predicted_episodes` in the detector's order (true ones by
:func:`~ecgflow.evaluation.cpsc2021.true_episodes`).

Times are half-open: an episode runs from ``onset_s`` to ``offset_s`` (its first sample after AF, / fs);
one still open at the end of the record, or of the span the stream covers, ends there.
The *covered span* ``(start_sample, end_sample)`` is the part of the record the stream covers (from
the first element that completes its window to the last one, :func:`stream_coverage`); AF burden is
the share of it inside episodes (overlapping episodes counted once). True burden is measured over the
same span, so the two compare like with like.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .detectors import TWO_STATE
from .errors import ConfigError, InputError
from .evaluation.cpsc2021 import predicted_episodes, true_episodes
from .evaluation.scoring import TIMINGS, read_event_table
from .parquet import read_metadata, save_png, write_parquet
from .report.figures import DPI, STREAM_LABELS, envelope
from .streams import INTEGER_WINDOWS, WINDOW_NAME, build_stream
from .sweep import read_record_tables

CONFIG_KEY = "episodes.configuration"
CONFIG_FIELDS = ("detector", "stream", "threshold", "window", "min_gap_s", "timing")
COMBO_FIELDS = ("threshold", "window", "min_gap_s")
EPISODE_COLUMNS = ["record", "onset_s", "offset_s", "duration_s"]
BURDEN_COLUMNS = ["record", "duration_h", "covered_share", "n_episodes", "af_burden"]
TRUE_COLUMNS = ["true_n_episodes", "true_af_burden", "burden_error"]
DETECTION_READ = ["detector", "stream", "combo_id", *COMBO_FIELDS, "alarm_sample", "change_sample", "direction"]
DEFAULT_TOLERANCE_S = 10.0  # episodes come from the study pick at the tolerance nearest this


def configuration(config: dict) -> dict:
    """``config`` checked and in canonical form: the :data:`CONFIG_FIELDS` (timing "change" by default),
    strings and floats."""
    missing = [k for k in CONFIG_FIELDS[:5] if config.get(k) is None]
    if missing:
        raise ConfigError(CONFIG_KEY, f"lacks {missing}; a configuration names {list(CONFIG_FIELDS)}")
    timing = config.get("timing") or "change"
    if timing not in TIMINGS:
        raise ConfigError(f"{CONFIG_KEY}.timing", f"must be one of {list(TIMINGS)}, got {timing!r}")
    try:
        combo = {k: float(config[k]) for k in COMBO_FIELDS}
    except (TypeError, ValueError) as err:
        raise ConfigError(CONFIG_KEY, f"threshold, window and min_gap_s must be numbers ({err})") from None
    return {"detector": str(config["detector"]), "stream": str(config["stream"]), **combo, "timing": timing}


def _values(values) -> str:
    return ", ".join(f"{v:g}" for v in sorted(set(float(x) for x in values)))


def select_detections(detections: pd.DataFrame, config: dict, runs: dict | None = None,
                      source="detections") -> pd.DataFrame:
    """The rows of one configuration in a record's detections table (exact match of threshold, window
    and min_gap_s), in the detector's order (alarm_sample).

    ``runs``: the detections file's metadata ``runs``; its grid decides which combinations exist (a
    combination without detections is then valid); without it, the rows present do. Raises
    :class:`ConfigError` for a pair or combination absent from the grid, and for a detector without
    states (every detection of the pair has direction 0).
    """
    config = configuration(config)
    det, stream = config["detector"], config["stream"]
    pair = detections[(detections["detector"] == det) & (detections["stream"] == stream)]
    key = f"{det}/{stream}"
    if runs is not None and key not in runs:
        raise ConfigError(CONFIG_KEY, f"{source}: the pair {key} was not run on this record; it has {sorted(runs)}")
    direction = pair["direction"].to_numpy()
    if (len(pair) and not direction.any()) or (not len(pair) and det not in TWO_STATE):
        raise ConfigError(CONFIG_KEY, f"{source}: {key} has no states (every detection has direction 0); episodes "
                                      f"need a two-state detector (e.g. {', '.join(TWO_STATE)})")
    grid = pd.DataFrame(runs[key].get("grid") or [], columns=list(COMBO_FIELDS)) if runs is not None else pair
    hit = np.ones(len(grid), bool)
    for k in COMBO_FIELDS:
        hit &= grid[k].to_numpy(np.float64) == config[k]
    if not hit.any():
        combo = ", ".join(f"{k} {config[k]:g}" for k in COMBO_FIELDS)
        raise ConfigError(CONFIG_KEY, f"{source}: {key} has no combination {combo}; its grid has thresholds "
                                      f"[{_values(grid['threshold'])}], windows [{_values(grid['window'])}], "
                                      f"min_gap_s [{_values(grid['min_gap_s'])}]")
    keep = np.ones(len(pair), bool)
    for k in COMBO_FIELDS:
        keep &= pair[k].to_numpy(np.float64) == config[k]
    return pair[keep].sort_values("alarm_sample", kind="stable").reset_index(drop=True)


def _episode_frame(samples: np.ndarray, fs: float, record: str) -> pd.DataFrame:
    """Episodes ((k, 2) samples) as the :data:`EPISODE_COLUMNS` table."""
    onset, offset = samples[:, 0] / fs, samples[:, 1] / fs
    return pd.DataFrame({"record": pd.Series([str(record)] * len(samples), dtype=object),
                         "onset_s": onset, "offset_s": offset, "duration_s": offset - onset})


def record_episodes(det_rows: pd.DataFrame, n_samples: int, fs: float, record: str, covered=None,
                    timing: str = "change") -> pd.DataFrame:
    """Estimated AF episodes of one configuration's detections on one record (:data:`EPISODE_COLUMNS`).

    ``det_rows``: :func:`select_detections`' rows (taken in alarm order); ``timing``: which sample
    column marks a boundary; ``covered``: ``(start_sample, end_sample)`` of the stream, where an episode
    still open closes (default: the record's end, ``n_samples``)."""
    if timing not in TIMINGS:
        raise ConfigError(f"{CONFIG_KEY}.timing", f"must be one of {list(TIMINGS)}, got {timing!r}")
    end = int(covered[1]) if covered is not None else int(n_samples)
    rows = det_rows.sort_values("alarm_sample", kind="stable") if "alarm_sample" in det_rows else det_rows
    # predicted_episodes closes an open episode at its n_samples - 1: one past the end closes it at the end
    samples = predicted_episodes(rows[f"{timing}_sample"].to_numpy(np.int64), rows["direction"].to_numpy(), end + 1)
    return _episode_frame(samples, float(fs), record)


def true_record_episodes(events: pd.DataFrame, meta: dict, source="events") -> pd.DataFrame:
    """True AF episodes (:data:`EPISODE_COLUMNS`, ``AF_RHYTHMS`` runs) of one record from its events table
    (sample, rhythm_to; rhythm_from) and metadata (fs, n_samples, record, initial_rhythm: the rhythm at
    sample 0, else the first event's rhythm_from). An episode open at the end ends at ``n_samples``."""
    n_samples, fs = int(meta["n_samples"]), float(meta["fs"])
    initial = meta.get("initial_rhythm")
    if initial is None:
        if events.empty or "rhythm_from" not in events:
            raise InputError(source, "metadata lacks 'initial_rhythm' (the rhythm at sample 0)")
        initial = str(events["rhythm_from"].iloc[0])
    samples = true_episodes(events["sample"].to_numpy(np.int64), events["rhythm_to"].astype(str).tolist(),
                            str(initial), n_samples + 1)
    return _episode_frame(samples, fs, meta.get("record", ""))


def _union_inside(onset: np.ndarray, offset: np.ndarray, lo: float, hi: float) -> float:
    """Length of the union of intervals ``[onset, offset)`` within ``[lo, hi)``."""
    a, b = np.clip(onset, lo, hi), np.clip(offset, lo, hi)
    order = np.argsort(a, kind="stable")
    total, reach = 0.0, lo
    for s, e in zip(a[order], b[order]):
        s = max(s, reach)
        if e > s:
            total += e - s
            reach = e
    return total


def record_burden(episodes: pd.DataFrame, n_samples: int, fs: float, record: str, covered=None) -> dict:
    """One record's AF burden: ``record``, ``duration_h``, ``covered_share`` (of the record, by the
    ``covered`` span ``(start_sample, end_sample)``, default the whole record), ``n_episodes`` (those
    reaching into the span) and ``af_burden`` (time inside episodes within the span / the span's time;
    NaN for an empty span)."""
    n_samples, fs = int(n_samples), float(fs)
    start, end = (0, n_samples) if covered is None else (int(covered[0]), int(covered[1]))
    start, end = min(max(start, 0), n_samples), min(max(end, 0), n_samples)
    end = max(end, start)
    lo, hi = start / fs, end / fs
    onset, offset = episodes["onset_s"].to_numpy(np.float64), episodes["offset_s"].to_numpy(np.float64)
    inside = _union_inside(onset, offset, lo, hi)
    return {"record": str(record), "duration_h": n_samples / fs / 3600.0,
            "covered_share": (end - start) / n_samples if n_samples else np.nan,
            "n_episodes": int(((onset < hi) & (offset >= lo)).sum()),
            "af_burden": inside / (hi - lo) if hi > lo else np.nan}


def burden_table(estimated, true=None) -> pd.DataFrame:
    """Per record (sorted): the estimated :func:`record_burden` rows (dicts or a table) and, with
    ``true`` (the same for the true episodes), ``true_n_episodes``, ``true_af_burden`` and
    ``burden_error`` (estimated minus true; NaN for a record without truth)."""
    est = pd.DataFrame(list(estimated) if not isinstance(estimated, pd.DataFrame) else estimated,
                       columns=BURDEN_COLUMNS)
    if true is not None:
        tru = pd.DataFrame(list(true) if not isinstance(true, pd.DataFrame) else true, columns=BURDEN_COLUMNS)
        tru = tru[["record", "n_episodes", "af_burden"]].rename(
            columns={"n_episodes": "true_n_episodes", "af_burden": "true_af_burden"})
        est = est.merge(tru, on="record", how="left", validate="one_to_one")
        est["burden_error"] = est["af_burden"] - est["true_af_burden"]
    return est.sort_values("record", kind="stable").reset_index(drop=True)


def burden_error_summary(burden: pd.DataFrame) -> pd.DataFrame:
    """Absolute burden error over the records with truth and an estimate: ``n_records``, median, 90th
    percentile (linear) and mean, for the estimate and for a method that always says 0 (whose absolute
    error is the true burden)."""
    b = burden[burden["true_af_burden"].notna() & burden["af_burden"].notna()]
    rows = []
    for method, err in (("estimate", (b["af_burden"] - b["true_af_burden"]).abs()), ("always 0", b["true_af_burden"])):
        err = err.to_numpy(np.float64)
        rows.append({"method": method, "n_records": len(err),
                     "median_abs_error": float(np.median(err)) if len(err) else np.nan,
                     "p90_abs_error": float(np.percentile(err, 90)) if len(err) else np.nan,
                     "mean_abs_error": float(err.mean()) if len(err) else np.nan})
    return pd.DataFrame(rows)


def record_stream(config: dict, run: dict, fs: float, beats_path=None, tidy_path=None) -> tuple[np.ndarray, np.ndarray]:
    """``(positions, values)`` of the configuration's stream on one record as its detector saw it, from
    the record's beats (or tidy, for ``ecg``) table and the pair's sweep metadata ``run``."""
    config = configuration(config)
    stream = config["stream"]
    tables, _ = read_record_tables(stream, tidy_path, beats_path)
    window = config["window"]
    window = int(window) if run.get("window_name", WINDOW_NAME.get(stream)) in INTEGER_WINDOWS else window
    values, positions = build_stream(stream, window, fs=float(fs), diff=bool(run.get("diff", False)),
                                     params=run.get("stream_params") or {},
                                     source=str(tidy_path if stream == "ecg" else beats_path), **tables)
    return positions, values


def stream_coverage(positions: np.ndarray, n_samples: int) -> tuple[int, int]:
    """Covered span ``(first position, last position + 1)`` of a stream; ``(0, 0)`` for an empty one."""
    if len(positions) == 0:
        return 0, 0
    return int(positions[0]), min(int(positions[-1]) + 1, int(n_samples))


def _record_info(path) -> dict:
    """A detections file's metadata, checked for fs and n_samples."""
    meta = read_metadata(path)
    for key in ("fs", "n_samples"):
        if meta.get(key) is None:
            raise InputError(path, f"metadata lacks '{key}'")
    return meta


def read_configuration_rows(path, config: dict) -> tuple[pd.DataFrame, dict]:
    """The configuration's rows of a per-record detections file (only its pair is read) and the file's
    metadata (its grid, ``runs``, decides which combinations exist when present)."""
    config = configuration(config)
    meta = _record_info(path)
    det = pd.read_parquet(path, columns=DETECTION_READ,
                          filters=[("detector", "==", config["detector"]), ("stream", "==", config["stream"])])
    return select_detections(det, config, meta.get("runs"), source=path), meta


def _run(meta: dict, config: dict) -> dict:
    """The pair's sweep metadata in a detections file's ``runs`` (empty without)."""
    return (meta.get("runs") or {}).get(f"{config['detector']}/{config['stream']}", {})


def _by_stem(paths) -> dict:
    return {Path(p).stem: p for p in paths or ()}


def write_episode_tables(detections_paths, events_paths, config: dict, outputs: dict, *, origin=None,
                         dataset: str | None = None, beats_paths=None) -> None:
    """Episodes and burden of one configuration over a dataset's records.

    Reads each record's detections file (its pair's rows and metadata fs, n_samples, runs); with
    ``events_paths`` (matched by file name) the true episodes too; with ``beats_paths`` the stream's
    covered span (else the whole record; an ``ecg`` stream always covers the whole record here).
    Writes ``outputs["episodes"]`` (:data:`EPISODE_COLUMNS`, sorted by record and onset),
    ``outputs["burden"]`` (:func:`burden_table`) and, with truth and the key,
    ``outputs["burden_summary"]`` (:func:`burden_error_summary`); metadata: dataset, the
    configuration and ``origin`` (where it came from, e.g. :func:`study_origin`)."""
    config = configuration(config)
    events, beats = _by_stem(events_paths), _by_stem(beats_paths)
    episodes, est, tru = [], [], []
    for path in sorted(detections_paths, key=lambda p: Path(p).stem):
        stem = Path(path).stem
        rows, meta = read_configuration_rows(path, config)
        record, fs, n_samples = str(meta.get("record") or stem), float(meta["fs"]), int(meta["n_samples"])
        covered = None
        if beats_paths is not None and config["stream"] != "ecg":
            if stem not in beats:
                raise InputError(path, f"no beats table for record {stem!r} among the {len(beats)} given")
            positions, _ = record_stream(config, _run(meta, config), fs, beats_path=beats[stem])
            covered = stream_coverage(positions, n_samples)
        eps = record_episodes(rows, n_samples, fs, record, covered, config["timing"])
        episodes.append(eps)
        est.append(record_burden(eps, n_samples, fs, record, covered))
        if events_paths is not None:
            if stem not in events:
                raise InputError(path, f"no events table for record {stem!r} among the {len(events)} given")
            ev, ev_meta = read_event_table(events[stem], ("sample", "rhythm_from", "rhythm_to"))
            if int(ev_meta["n_samples"]) != n_samples:
                raise InputError(events[stem], f"n_samples {ev_meta['n_samples']} differs from the detections' "
                                               f"{n_samples} ({path})")
            truth = true_record_episodes(ev, {**ev_meta, "record": record}, source=events[stem])
            tru.append(record_burden(truth, n_samples, fs, record, covered))
    table = pd.concat(episodes, ignore_index=True) if episodes else _episode_frame(np.zeros((0, 2)), 1.0, "")
    table = table.sort_values(["record", "onset_s"], kind="stable").reset_index(drop=True)
    burden = burden_table(est, tru if events_paths is not None else None)
    meta = {"dataset": dataset, "configuration": config, "configuration_origin": origin,
            "covered": "the whole record" if beats_paths is None or config["stream"] == "ecg" else "the stream's span"}
    write_parquet(table, outputs["episodes"], meta)
    write_parquet(burden, outputs["burden"], meta)
    if "burden_summary" in outputs and events_paths is not None:
        write_parquet(burden_error_summary(burden), outputs["burden_summary"], meta)


def study_tolerance(study: pd.DataFrame, near_s: float = DEFAULT_TOLERANCE_S) -> float:
    """The study's tolerance nearest ``near_s`` (the smaller on a tie): the default of the episodes' pick."""
    tolerances = sorted({float(t) for t in study["tolerance_s"]})
    return min(tolerances, key=lambda t: abs(t - near_s))


def pick_configuration(study: pd.DataFrame, tolerance_s: float, policy: str = "greedy",
                       timing: str = "chosen") -> dict:
    """The configuration a study table (:func:`ecgflow.report.study.study_table`) chose: at
    ``tolerance_s`` and ``policy``, the row of ``timing`` ("chosen": the nested choice, timing chosen
    per fold) gives the candidate picked most often across the leave-one-record-out folds
    (``picked_detector``, ``picked_stream``, ``picked_threshold``, ``picked_window``,
    ``picked_min_gap_s``, and its timing ``picked_timing``). Raises :class:`ConfigError` when the study
    has no such row, no pick (fewer than two records) or a pick without states."""
    rows = study[np.isclose(study["tolerance_s"].astype(float), float(tolerance_s))
                 & (study["policy"].astype(str) == policy) & (study["timing"].astype(str) == timing)]
    if rows.empty:
        have = sorted({(float(t), str(p)) for t, p in zip(study["tolerance_s"], study["policy"])})
        raise ConfigError("episodes.tolerance_s", f"the study has no {timing!r} row at tolerance {tolerance_s:g} s "
                                                  f"and policy {policy!r}; it has (tolerance_s, policy) {have}")
    row = rows.iloc[0]
    where = f"the study's {timing} choice at tolerance {float(tolerance_s):g} s ({policy})"
    if pd.isna(row.get("picked_detector")):
        raise ConfigError(CONFIG_KEY, f"{where} picked nothing (a nested choice needs at least two records); "
                                      "give the configuration explicitly")
    if str(row["picked_detector"]) not in TWO_STATE:
        raise ConfigError(CONFIG_KEY, f"{where} is {row['picked_detector']}/{row['picked_stream']}, a detector without "
                                      f"states; episodes need a two-state detector ({', '.join(TWO_STATE)}): give the "
                                      "configuration explicitly or run the study on two-state detectors only")
    return configuration({"detector": row["picked_detector"], "stream": row["picked_stream"],
                          "threshold": row["picked_threshold"], "window": row["picked_window"],
                          "min_gap_s": row["picked_min_gap_s"], "timing": row["picked_timing"]})


def study_origin(study: pd.DataFrame, tolerance_s: float, policy: str = "greedy", timing: str = "chosen",
                 path=None) -> dict:
    """Where :func:`pick_configuration`'s answer came from, for the tables' metadata."""
    row = study[np.isclose(study["tolerance_s"].astype(float), float(tolerance_s))
                & (study["policy"].astype(str) == policy) & (study["timing"].astype(str) == timing)].iloc[0]
    return {"study": None if path is None else str(path), "dataset": str(row.get("dataset", "")),
            "tolerance_s": float(tolerance_s), "policy": policy, "timing": timing,
            "picked_combo_id": int(row["picked_combo_id"]), "picked_share": float(row["picked_share"]),
            "n_records": int(row["n_records"])}


def episode_configuration(study: pd.DataFrame, best: pd.DataFrame, tolerance_s: float,
                          policy: str = "greedy", path=None) -> tuple[dict, dict]:
    """``(configuration, origin)`` of a dataset's episodes: the study's nested pick
    (:func:`pick_configuration`) when it is a two-state detector; otherwise the two-state detector and
    stream with the best leave-one-record-out pooled F1 in the best-configurations table
    (:func:`ecgflow.report.tables.best_configs`) at that tolerance and policy, with its best combination."""
    row = study[np.isclose(study["tolerance_s"].astype(float), float(tolerance_s))
                & (study["policy"].astype(str) == policy) & (study["timing"].astype(str) == "chosen")]
    if row.empty or str(row["picked_detector"].iloc[0]) in TWO_STATE:
        return pick_configuration(study, tolerance_s, policy), study_origin(study, tolerance_s, policy, path=path)
    runs = best[np.isclose(best["tolerance_s"].astype(float), float(tolerance_s)) & (best["policy"] == policy)
                & best["detector"].isin(list(TWO_STATE)) & best["loro_pooled_f1"].notna()]
    if runs.empty:
        raise ConfigError(CONFIG_KEY, f"no two-state detector ({', '.join(TWO_STATE)}) ran: give the configuration")
    r = runs.iloc[int(np.argmax(runs["loro_pooled_f1"].to_numpy()))]
    origin = {"study": None if path is None else str(path), "tolerance_s": float(tolerance_s), "policy": policy,
              "rule": f"the study picks {row['picked_detector'].iloc[0]}/{row['picked_stream'].iloc[0]}, which has no "
                      "states: the two-state method with the best leave-one-record-out pooled F1 instead",
              "loro_pooled_f1": float(r["loro_pooled_f1"])}
    return configuration({"detector": r["detector"], "stream": r["stream"], "threshold": r["best_threshold"],
                          "window": r["best_window"], "min_gap_s": r["best_min_gap_s"], "timing": r["timing"]}), origin


def _n_episodes(n: int) -> str:
    return f"{n} episode{'' if n == 1 else 's'}"


def episode_figure(stream_times_s, stream_values, episodes: pd.DataFrame, truth: pd.DataFrame | None, path,
                   title: str, ylabel: str = "stream") -> Figure:
    """One record: the stream against time with the estimated episodes shaded and, when given, the
    true episodes (``truth``) as a band below; written as a PNG to ``path``."""
    t, y = np.asarray(stream_times_s, np.float64), np.asarray(stream_values, np.float64)
    fig = Figure(figsize=(13, 4), layout="constrained")
    if truth is None:
        ax, band = fig.subplots(1, 1), None
    else:
        ax, band = fig.subplots(2, 1, sharex=True, height_ratios=[6, 1])
    if len(y) > 4000:
        starts, lo, hi = envelope(y, 3000)
        ax.fill_between(t[starts], lo, hi, color="0.3", lw=0, step="post")
    else:
        ax.plot(t, y, color="0.3", lw=0.8)
    for start, end in zip(episodes["onset_s"], episodes["offset_s"]):
        ax.axvspan(start, end, color="tab:red", alpha=0.25, lw=0)
    handles = [Patch(color="tab:red", alpha=0.25, label=f"estimated AF ({_n_episodes(len(episodes))})")]
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    if band is not None:
        spans = [(s, e - s) for s, e in zip(truth["onset_s"], truth["offset_s"])]
        band.broken_barh(spans, (0, 1), color="tab:purple")
        band.set_ylim(0, 1)
        band.set_yticks([])
        band.set_ylabel("true AF", rotation=0, ha="right", va="center")
        handles.append(Patch(color="tab:purple", label=f"true AF ({_n_episodes(len(truth))})"))
        band.set_xlabel("time (s)")
    else:
        ax.set_xlabel("time (s)")
    fig.legend(handles=handles, loc="outside right upper", fontsize=8)
    save_png(fig, path, DPI)
    return fig


def write_record_figure(detections_path, config: dict, path, *, beats_path=None, tidy_path=None,
                        events_path=None) -> Figure:
    """:func:`episode_figure` of one record: its configuration's stream (beats, or tidy for ``ecg``),
    the estimated episodes and, with ``events_path``, the true ones."""
    config = configuration(config)
    rows, meta = read_configuration_rows(detections_path, config)
    fs, n_samples = float(meta["fs"]), int(meta["n_samples"])
    record = str(meta.get("record") or Path(detections_path).stem)
    positions, values = record_stream(config, _run(meta, config), fs, beats_path=beats_path, tidy_path=tidy_path)
    covered = stream_coverage(positions, n_samples) if config["stream"] != "ecg" else None
    eps = record_episodes(rows, n_samples, fs, record, covered, config["timing"])
    truth = None
    if events_path is not None:
        ev, ev_meta = read_event_table(events_path, ("sample", "rhythm_from", "rhythm_to"))
        truth = true_record_episodes(ev, {**ev_meta, "record": record}, source=events_path)
    burden = record_burden(eps, n_samples, fs, record, covered)
    title = (f"record {record}: {config['detector']} / {config['stream']} (threshold {config['threshold']:g}, window "
             f"{config['window']:g}, min_gap {config['min_gap_s']:g} s, {config['timing']} times); "
             f"estimated AF burden {burden['af_burden']:.1%}")
    if truth is not None:
        title += f", true {record_burden(truth, n_samples, fs, record, covered)['af_burden']:.1%}"
    return episode_figure(positions / fs, values, eps, truth, path, title,
                          STREAM_LABELS.get(config["stream"], config["stream"]))
