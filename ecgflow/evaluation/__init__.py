"""Evaluation of change detections against ground-truth events: matching, metrics, chance level,
drift-detection figures, whole-grid scoring and the CPSC 2021 score."""

from .chance import chance_phases, chance_tp_many, placebo_detections
from .drift import drift_figures, episode_counts
from .matching import POLICIES, event_tolerances, match_greedy, match_optimal
from .metrics import evaluate_detections, precision_recall_f1
from .scoring import (
    CPSC_COLUMNS, METRIC_COLUMNS, TIMINGS, evaluation_settings, score_detections,
    score_record_file,
)

__all__ = [
    "CPSC_COLUMNS", "METRIC_COLUMNS", "POLICIES", "TIMINGS", "chance_phases", "chance_tp_many",
    "drift_figures", "episode_counts", "evaluate_detections", "evaluation_settings",
    "event_tolerances", "match_greedy", "match_optimal", "placebo_detections", "precision_recall_f1",
    "score_detections", "score_record_file",
]
