"""Evaluation of change detections against ground-truth events: matching, metrics, chance level,
drift-detection figures and whole-grid scoring."""

from .chance import chance_f1_many, chance_phases, placebo_detections
from .drift import drift_figures, episode_counts
from .matching import POLICIES, event_tolerances, match_greedy, match_optimal
from .metrics import evaluate_detections
from .scoring import METRIC_COLUMNS, score_detections, score_file

__all__ = [
    "POLICIES", "METRIC_COLUMNS", "chance_f1_many", "chance_phases", "drift_figures", "episode_counts",
    "evaluate_detections", "event_tolerances", "match_greedy", "match_optimal", "placebo_detections",
    "score_detections", "score_file",
]
