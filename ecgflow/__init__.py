"""ecgflow: ECG experiment pipeline (tidy WFDB data, streaming change detection, evaluation, training)."""

__version__ = "0.1.0"
