"""The report tables as HTML pages for `snakemake --report`: one self-contained page per table,
sortable by clicking a column heading (a few lines of inline JavaScript, nothing fetched).

- best configurations: every detector, stream, tolerance, policy (and timing), with the in-sample
  and leave-one-record-out F1 beside their chance levels and lifts;
- grid summary: at the reference run (see :mod:`ecgflow.report.figures`), the combinations with
  the best mean F1 of each detector and stream (the Parquet table holds every combination);
- study: the study table (the leave-one-record-out choice among all methods), every column.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from ..parquet import atomic_path
from .figures import at_run, reference_run

GRID_ROWS_PER_PAIR = 20
BEST_COLUMNS = [
    "detector", "stream", "tolerance_s", "policy", "timing", "n_records", "best_combo_id", "threshold_name",
    "best_threshold", "window_name", "best_window", "best_min_gap_s", "insample_f1_mean", "insample_f1_chance",
    "insample_f1_lift", "loro_f1_mean", "loro_f1_std", "loro_f1_chance", "loro_f1_lift", "loro_n_distinct",
    "oracle_f1_mean",
]
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


def best_configs_page(best: pd.DataFrame, dataset: str) -> str:
    cols = [c for c in BEST_COLUMNS if c in best.columns]
    return table_html(
        best[cols], f"Best configurations: {dataset}",
        "Per detector, stream, tolerance and policy: the combination with the best mean F1 across records "
        "(in-sample: chosen and scored on the same records, optimistic), its chance-level F1 (a periodic "
        "placebo detector with as many detections) and lift (F1 minus chance); the leave-one-record-out "
        "estimate (each record scored with the combination chosen on the others) with its chance level "
        "and lift; and the per-record oracle, an upper bound. Click a heading to sort.")


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
    return table_html(
        study, f"Study: {dataset}",
        "Per tolerance, policy and timing, a method chosen among every detector, stream and combination by "
        "leave-one-record-out selection (each record scored with the candidate that has the best pooled F1 on "
        "the other records): the held-out F1 beside its chance level and lift, pooled precision and recall, "
        "delays, false alarms per hour, and the candidate picked most often. Every column of "
        "tables/study.parquet. Click a heading to sort.")


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
