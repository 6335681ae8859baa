"""The report's answer, first on its landing page: per dataset and tolerance, the method the nested
study picks (chosen among every detector, stream, setting and timing on the other records, for each
record), its held-out pooled F1 and the chance level of the same choices."""

from __future__ import annotations

import pandas as pd

from ..parquet import atomic_path
from .html import method_label

ANSWER_COLUMNS = ["dataset", "tolerance (s)", "method (picked most often)", "pooled F1", "chance F1",
                  "false alarms / h"]


def answer_table(studies: dict, policy: str) -> pd.DataFrame:
    """One row per dataset (``{name: study table}``, in that order) and tolerance: the nested pick
    (timing chosen per fold) with ``policy`` matching."""
    rows = []
    for dataset, study in studies.items():
        s = study[(study["policy"] == policy) & (study["timing"] == "chosen")].sort_values("tolerance_s")
        for r in s.itertuples(index=False):
            rows.append([dataset, r.tolerance_s, method_label(r.picked_detector, r.picked_stream, r.picked_threshold_name,
                                                              r.picked_threshold, r.picked_window_name, r.picked_window,
                                                              r.picked_min_gap_s),
                         r.loro_pooled_f1, r.loro_pooled_f1_chance, r.loro_false_alarms_per_hour])
    return pd.DataFrame(rows, columns=ANSWER_COLUMNS)


def _cell(value) -> str:
    if isinstance(value, float):
        return "n/a" if value != value else f"{value:.3g}"
    return str(value).replace("*", r"\*")


def answer_rst(answer: pd.DataFrame, policy: str) -> str:
    """The answer as a reStructuredText section: one sentence and a list table."""
    lines = ["The answer", "==========", "",
             f"Which method detects the rhythm changes best, and how far above chance ({policy} matching; each "
             "record scored with the method chosen on the other records, so no figure is tuned on what it "
             "scores; chance: a periodic placebo detector with as many detections):", "",
             ".. list-table::", "   :header-rows: 1", ""]
    for row in [list(answer.columns), *answer.itertuples(index=False)]:
        lines.append("   * - " + _cell(row[0]))
        lines.extend(f"     - {_cell(v)}" for v in row[1:])
    return "\n".join(lines) + "\n\n"


def write_landing(study_paths: dict, template, out, policy: str) -> pd.DataFrame:
    """The report's landing page (``out``, reStructuredText with the Jinja of ``template``): the answer
    first, then ``template``'s description of the run."""
    answer = answer_table({name: pd.read_parquet(path) for name, path in study_paths.items()}, policy)
    with atomic_path(out) as tmp:
        tmp.write_text(answer_rst(answer, policy) + open(template, encoding="utf-8").read(), encoding="utf-8")
    return answer
