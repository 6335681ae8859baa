"""The report tables as HTML pages for `snakemake --report`: one self-contained page per table,
sortable by clicking a column heading (a few lines of inline JavaScript, nothing fetched).

- best configurations: every detector, stream, tolerance, policy and timing, best first, with the
  leave-one-record-out and in-sample pooled F1 beside their chance levels (plain column titles);
- grid summary: at the reference run (see :mod:`ecgflow.report.figures`), the combinations with
  the best mean F1 of each detector and stream (the Parquet table holds every combination);
- study: the study table (the leave-one-record-out choice among all methods), best first, the method
  and its F1 beside chance in the first columns (plain column titles; every column in the Parquet).
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from ..parquet import atomic_path
from .figures import at_run, reference_run

GRID_ROWS_PER_PAIR = 20
# page column title -> table column, in page order
BEST_TITLES = {
    "tolerance (s)": "tolerance_s", "policy": "policy", "timing": "timing",
    "held-out pooled F1": "loro_pooled_f1", "its chance F1": "loro_pooled_f1_chance",
    "held-out mean F1": "loro_f1_mean", "false alarms / h": "loro_false_alarms_per_hour",
    "median delay (s)": "loro_median_delay_s", "combinations chosen": "loro_n_distinct",
    "in-sample pooled F1": "insample_pooled_f1", "in-sample chance F1": "insample_pooled_f1_chance",
    "oracle mean F1": "oracle_f1_mean", "records": "n_records",
}
STUDY_TITLES = {
    "tolerance (s)": "tolerance_s", "policy": "policy", "timing": "timing",
    "held-out pooled F1": "loro_pooled_f1", "its chance F1": "loro_pooled_f1_chance",
    "precision": "loro_pooled_precision", "recall": "loro_pooled_recall",
    "false alarms / h": "loro_false_alarms_per_hour", "median delay (s)": "loro_median_delay_s",
    "share of folds": "picked_share", "methods chosen": "n_distinct_picks", "records": "n_records",
    "events": "n_events", "CPSC 2021 score": "cpsc2021_u_mean",
}
GRID_COLUMNS = [
    "detector", "stream", "combo_id", "threshold_name", "threshold", "window_name", "window", "min_gap_s",
    "f1_mean", "f1_std", "f1_chance_mean", "f1_lift_mean", "precision_mean", "recall_mean", "pooled_f1",
    "mean_delay_s", "false_alarms_per_hour_mean", "n_records",
]

_STYLE = """
body { font-family: sans-serif; font-size: 13px; margin: 1em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; white-space: nowrap; }
th { background: #eee; cursor: pointer; position: sticky; top: 0; }
td.text { text-align: left; }
"""
_SORT = """
document.querySelectorAll("th").forEach((th, col) => th.addEventListener("click", () => {
  const body = th.closest("table").tBodies[0], rows = Array.from(body.rows);
  const up = th.dataset.order !== "up"; th.dataset.order = up ? "up" : "down";
  const key = r => { const t = r.cells[col].dataset.v ?? r.cells[col].textContent; const n = parseFloat(t);
                     return isNaN(n) ? t : n; };
  rows.sort((a, b) => { const x = key(a), y = key(b);
    return (typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === "number" ? -1 : 1)) * (up ? 1 : -1); });
  rows.forEach(r => body.appendChild(r));
}));
"""


def _cell(value) -> str:
    """A table cell: numbers right-aligned (3 significant digits shown, the full value sorted on),
    n/a for a missing value, text escaped."""
    if value is None or (isinstance(value, (float, np.floating)) and np.isnan(value)):
        return '<td data-v="">n/a</td>'
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return f"<td>{value}</td>"
    if isinstance(value, (float, np.floating)):
        return f'<td data-v="{float(value)!r}">{value:.3g}</td>'
    return f'<td class="text">{html.escape(str(value))}</td>'


def table_html(df: pd.DataFrame, title: str, intro: str) -> str:
    """A standalone HTML page: heading, one paragraph, and ``df`` as a sortable table."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = "\n".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in df.itertuples(index=False))
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_STYLE}</style></head>\n<body><h2>{html.escape(title)}</h2>\n<p>{html.escape(intro)}</p>\n"
            f"<table><thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody></table>\n"
            f"<script>{_SORT}</script></body></html>\n")


def method_label(detector, stream, threshold_name, threshold, window_name, window, min_gap_s) -> str:
    """``hysteresis / cosen (hi -1, w 16, min gap 0 s)``; n/a when nothing was picked."""
    if detector is None or (isinstance(detector, float) and np.isnan(detector)):
        return "n/a"
    return (f"{detector} / {stream} ({threshold_name} {float(threshold):g}, {window_name} {float(window):g}, "
            f"min gap {float(min_gap_s):g} s)")


def readable(table: pd.DataFrame, method: pd.Series, titles: dict, sort_by: str) -> pd.DataFrame:
    """``table`` as a page shows it: the method first, then ``titles``' columns under their titles, best first."""
    out = pd.DataFrame({"method": method.to_numpy()})
    for title, column in titles.items():
        if column in table.columns:
            out[title] = table[column].to_numpy()
    order = np.argsort(-np.nan_to_num(table[sort_by].to_numpy(np.float64), nan=-np.inf), kind="stable")
    return out.iloc[order].reset_index(drop=True)


def best_configs_page(best: pd.DataFrame, dataset: str) -> str:
    method = pd.Series([method_label(*r) for r in zip(best["detector"], best["stream"], best["threshold_name"],
                        best["best_threshold"], best["window_name"], best["best_window"], best["best_min_gap_s"])])
    return table_html(
        readable(best, method, BEST_TITLES, "loro_pooled_f1"), f"Best configurations: {dataset}",
        "Per detector, stream, tolerance, policy and timing, best first: the combination with the best pooled F1 "
        "over all records (the method column; in-sample: chosen and scored on the same records, optimistic), the "
        "leave-one-record-out estimate (each record scored with the combination chosen on the other records) with "
        "its chance level (a periodic placebo detector with as many detections), false alarms and delay, and the "
        "per-record oracle, an upper bound. Every column is in tables/best_configs.parquet. Click a heading to sort.")


def grid_summary_page(summary: pd.DataFrame, tol: float, policy: str, dataset: str) -> str:
    s = at_run(summary, tol, policy)
    s = s.sort_values(["detector", "stream", "f1_mean", "combo_id"], ascending=[True, True, False, True], kind="stable")
    top = s.groupby(["detector", "stream"], sort=False).head(GRID_ROWS_PER_PAIR)
    return table_html(
        top[[c for c in GRID_COLUMNS if c in top.columns]], f"Grid summary: {dataset}",
        f"At tolerance {tol:g} s, {policy} matching, alarm times: the {GRID_ROWS_PER_PAIR} combinations with "
        "the best mean F1 across records of each detector and stream, with the mean chance F1 and lift, "
        "precision, recall, pooled F1, mean delay and false alarms per hour. Every combination, tolerance "
        "and policy is in tables/grid_summary.parquet. Click a heading to sort.")


def study_page(study: pd.DataFrame, dataset: str) -> str:
    method = pd.Series([method_label(*r) for r in zip(*(study[f"picked_{c}"] for c in (
        "detector", "stream", "threshold_name", "threshold", "window_name", "window", "min_gap_s")))])
    return table_html(
        readable(study, method, STUDY_TITLES, "loro_pooled_f1"), f"Study: {dataset}",
        "Per tolerance, policy and timing, a method chosen among every detector, stream and combination by "
        "leave-one-record-out selection (each record scored with the candidate that has the best pooled F1 on "
        "the other records): the held-out F1 beside its chance level and lift, pooled precision and recall, "
        "delays, false alarms per hour, and the candidate picked most often (the method column), best first. "
        "Every column is in tables/study.parquet. Click a heading to sort.")


OUTCOME_INTROS = {
    "burden": "Per record: the AF burden (share of the covered time inside the estimated AF episodes), the "
              "number of episodes, the record's length and the share of it the stream covers; for a labelled "
              "dataset also the true burden and episodes and the error of the estimate (estimated minus true). "
              "The configuration that drew the episodes is in the table's metadata and in the figures' titles.",
    "burden_summary": "Absolute error of the estimated AF burden over the records (median, 90th percentile, mean), "
                      "beside that of a method that always says 0.",
    "qrs_detection": "Detected beats against the reference beat annotations, matched one to one within 150 ms: "
                     "per record and in total (gross), true and false positives, misses, sensitivity and "
                     "positive predictivity.",
    "transfer": "The method each source dataset's study picks (per tolerance, policy and timing), scored on this "
                "dataset's records: pooled precision, recall and F1 beside the placebo's chance F1, false alarms "
                "per hour and mean delay, next to this dataset's own nested (leave-one-record-out) pooled F1.",
    "skipped": "Records left out of the run (bad_records: skip) and why.",
}


def outcome_page(name: str, table: pd.DataFrame, dataset: str) -> str:
    """The page of one of the tables in :data:`OUTCOME_INTROS`, every column."""
    title = name.replace("_", " ").capitalize()
    return table_html(table, f"{title}: {dataset}", f"{OUTCOME_INTROS[name]} Every column of tables/{name}.parquet. "
                                                     "Click a heading to sort.")


def write_outcome_page(name: str, table_path, dataset: str, out) -> None:
    with atomic_path(out) as tmp:
        tmp.write_text(outcome_page(name, pd.read_parquet(table_path), dataset), encoding="utf-8")


def write_html_tables(tables: dict, evaluation: dict, dataset: str, outputs: dict) -> None:
    """HTML pages (``outputs`` keys best_configs, grid_summary, study) of the report tables
    (``tables``: Parquet paths under the same keys)."""
    summary = pd.read_parquet(tables["grid_summary"])
    tol, policy = reference_run(summary["tolerance_s"].unique(), evaluation["policies"])
    pages = {
        "best_configs": lambda: best_configs_page(pd.read_parquet(tables["best_configs"]), dataset),
        "grid_summary": lambda: grid_summary_page(summary, tol, policy, dataset),
        "study": lambda: study_page(pd.read_parquet(tables["study"]), dataset),
    }
    for key, path in outputs.items():
        with atomic_path(path) as tmp:
            tmp.write_text(pages[key](), encoding="utf-8")
