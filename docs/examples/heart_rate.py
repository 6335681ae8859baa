"""An ecgflow extension: a heart-rate stream and a two-state level detector, registered by import.

Name this file in the config (``extensions: [docs/examples/heart_rate.py]``) and give the pair a grid:

    detectors:
      level:
        streams:
          hr:
            threshold: {name: level, values: [90, 100, 110]}
            window: {name: beats, values: [4, 8, 16]}
            min_gap_s: [0, 4]
"""

import numpy as np

from ecgflow.detectors import SEMANTICS, Detector, register_detector
from ecgflow.errors import ConfigError
from ecgflow.streams import Stream, moving_average, register_stream


def heart_rate(beats, fs, window, params, source):
    """Heart rate (beats per minute) over the last ``window`` RR intervals, at each window's last beat."""
    samples = beats["sample"].to_numpy(np.int64)
    w = int(window)
    if samples.size <= w:
        raise ConfigError("window", f"{source}: {samples.size} beats, too few for a window of {w}")
    return moving_average(60.0 * fs / np.diff(samples), w), samples[1:][w - 1:]


def level_switches(x, params, semantics):
    """Up where the stream rises above ``level``, down where it falls back: (alarm, change, direction)."""
    above = x > params["level"]
    at = np.flatnonzero(above[1:] != above[:-1]) + 1
    if above[0]:  # a stream that starts high switches up at its first element
        at = np.r_[0, at]
    direction = np.where(above[at], 1, -1).astype(np.int8)
    return at.astype(np.int64), at.astype(np.int64), direction


def _number(key, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(key, f"must be a number, got {value!r}")
    return float(value)


register_stream(Stream("hr", "beats", heart_rate), replace=True)
register_detector(Detector("level", {s: {"level": (100.0, _number)} for s in SEMANTICS}, level_switches, "level",
                           ("hr",), two_state=True), replace=True)
