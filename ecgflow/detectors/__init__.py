"""Streaming change detectors (ADWIN, Page-Hinkley, DDM; hysteresis and CUSUM) as compiled kernels.

>>> import numpy as np
>>> from ecgflow.detectors import detect
>>> x = np.r_[np.zeros(1000), np.ones(1000)]
>>> detect("pagehinkley", x, threshold=5.0).tolist()
[1005]

``semantics="river"`` reproduces river 0.26 (``drift.ADWIN``, ``drift.PageHinkley``,
``drift.binary.DDM``) and ``semantics="skmultiflow"`` scikit-multiflow 0.5.3, index for index.
Parameters always carry river's names; for scikit-multiflow they map to its own:
ADWIN ``delta``; Page-Hinkley ``min_instances``, ``delta``, ``threshold``, ``alpha`` (it only tests
increases: ``mode`` may only be ``"up"``); DDM ``warm_start`` -> ``min_num_instances``,
``warning_threshold`` -> ``warning_level``, ``drift_threshold`` -> ``out_control_level``.
The returned indices are those of the elements on which the reference reported a change
(``drift_detected`` in river, ``detected_change()`` in scikit-multiflow).

``hysteresis`` and ``cusum`` (:mod:`ecgflow.detectors.twostate`) are the project's own two-state
detectors (the same under either semantics). :func:`detect_changes` also returns each detection's
change estimate and direction (+1 into the high state, -1 back, 0 for a detector without a state).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Real

import numpy as np

from ..changetime import BestSplit, ByStream, ProbabilitySplit
from ..errors import ConfigError, InputError
from ..registry import Registry
from .adwin import adwin_river, adwin_skmultiflow
from .ddm import ddm_river, ddm_skmultiflow
from .pagehinkley import MODES, pagehinkley_river, pagehinkley_skmultiflow
from .twostate import cusum, hysteresis

SEMANTICS = ("river", "skmultiflow")


def _int(low):
    def check(key, v):
        if isinstance(v, bool) or not isinstance(v, Real) or not float(v).is_integer():
            raise ConfigError(key, f"must be an integer, got {v!r}")
        if v < low:
            raise ConfigError(key, f"must be >= {low}, got {v!r}")
        return int(v)

    return check


def _float(low, high, low_open=True, high_open=True):
    def check(key, v):
        if isinstance(v, bool) or not isinstance(v, Real) or not math.isfinite(v):
            raise ConfigError(key, f"must be a finite number, got {v!r}")
        v = float(v)
        if (v <= low if low_open else v < low) or (v >= high if high_open else v > high):
            lo, hi = "(["[not low_open], ")]"[not high_open]
            raise ConfigError(key, f"must be in {lo}{low}, {high}{hi}, got {v!r}")
        return v

    return check


def _choice(options):
    def check(key, v):
        if v not in options:
            raise ConfigError(key, f"must be one of {sorted(options)}, got {v!r}")
        return v

    return check


_DELTA = _float(0.0, 1.0)
_ANY = _float(-math.inf, math.inf)
_NONNEG = _float(0.0, math.inf, low_open=False)
_POS = _float(0.0, math.inf)
_INITIAL = _choice({"low", "estimate"})  # two-state detectors' initial state (see twostate)


@dataclass(frozen=True)
class Detector:
    """What ecgflow needs to know of a change detector, registered with :func:`register_detector`.

    ``params``: semantics -> {parameter: (default, check)} (``check(key, value)`` returns the value or
    raises :class:`ConfigError`); ``run(x, params, semantics)`` returns ``(alarm, change, direction)``
    (int64 element indices where it fired and of its change estimates, int8 directions: +1 into the high
    state, -1 back, 0 without states); ``threshold``: the parameter the grid sweeps; ``streams``: the
    streams it runs on; ``binary``: it needs a 0/1 stream; ``two_state``: its directions make episodes;
    ``change_estimate``: an estimate that replaces the kernel's own (see :mod:`ecgflow.changetime`);
    ``check(params)``: a check across parameters.
    """

    name: str
    params: dict
    run: Callable
    threshold: str
    streams: tuple
    binary: bool = False
    two_state: bool = False
    change_estimate: object = None
    check: Callable | None = None


DETECTORS = Registry("detector")
BINARY = DETECTORS.view("name", lambda d: d.binary)  # detectors of 0/1 streams
TWO_STATE = DETECTORS.view("name", lambda d: d.two_state)


def register_detector(detector: Detector, replace: bool = False) -> Detector:
    """Make ``detector`` known to the grid, the sweep, the config check and the command line."""
    missing = sorted(set(SEMANTICS) - set(detector.params))
    if missing:
        raise ValueError(f"detector {detector.name!r}: no parameters for semantics {missing}")
    return DETECTORS.register(detector, replace)


def _one_state(kernel):
    """``run`` of a kernel returning ``(alarm, change)``: every direction 0."""

    def run(x, p, semantics):
        alarm, change = kernel(x, p, semantics)
        return alarm, change, np.zeros(alarm.size, dtype=np.int8)

    return run


def _adwin(x, p, semantics):
    if semantics == "river":
        return adwin_river(x, p["delta"], p["clock"], p["max_buckets"], p["min_window_length"], p["grace_period"])
    return adwin_skmultiflow(x, p["delta"])


def _pagehinkley(x, p, semantics):
    if semantics == "river":
        return pagehinkley_river(x, p["min_instances"], p["delta"], p["threshold"], p["alpha"], MODES[p["mode"]])
    return pagehinkley_skmultiflow(x, p["min_instances"], p["delta"], p["threshold"], p["alpha"])


def _ddm(x, p, semantics):
    kernel = ddm_river if semantics == "river" else ddm_skmultiflow
    return kernel(x, p["warm_start"], p["drift_threshold"])


def _cusum_check(p):
    if not p["p0"] < p["p1"]:
        raise ConfigError("p1", f"must be above p0 ({p['p0']}), got {p['p1']!r}")


_LEVEL_STREAMS = ("ecg", "rr", "drr", "cosen", "pirr", "nrmssd")
register_detector(Detector(
    "adwin",
    {
        "river": {
            "delta": (0.002, _DELTA),
            "clock": (32, _int(1)),
            "max_buckets": (5, _int(2)),  # river 0.26 can panic with 1
            "min_window_length": (5, _int(1)),
            "grace_period": (10, _int(0)),
        },
        "skmultiflow": {"delta": (0.002, _DELTA)},
    },
    _one_state(_adwin), "delta", _LEVEL_STREAMS,
))
register_detector(Detector(
    "pagehinkley",
    {
        "river": {
            "min_instances": (30, _int(0)),
            "delta": (0.005, _NONNEG),
            "threshold": (50.0, _POS),
            "alpha": (1 - 0.0001, _float(0.0, 1.0, high_open=False)),
            "mode": ("both", _choice(set(MODES))),
        },
        "skmultiflow": {
            "min_instances": (30, _int(0)),
            "delta": (0.005, _NONNEG),
            "threshold": (50.0, _POS),
            "alpha": (1 - 0.0001, _float(0.0, 1.0, high_open=False)),
            "mode": ("up", _choice({"up"})),
        },
    },
    _one_state(_pagehinkley), "threshold", _LEVEL_STREAMS,
))
register_detector(Detector(
    "ddm",
    {sem: {"warm_start": (30, _int(0)), "warning_threshold": (2.0, _POS), "drift_threshold": (3.0, _POS)}
     for sem in SEMANTICS},
    _one_state(_ddm), "drift_threshold", ("irr",), binary=True,
))
register_detector(Detector(
    "hysteresis",
    {sem: {"hi": (-1.0, _ANY), "band": (1.0, _NONNEG), "dwell": (12, _int(1)), "initial": ("low", _INITIAL)}
     for sem in SEMANTICS},  # lo = hi - band
    lambda x, p, semantics: hysteresis(x, p["hi"], p["hi"] - p["band"], p["dwell"], p["initial"] == "estimate"),
    "hi", ("drr", "cosen", "pirr", "nrmssd", "p_af"),  # irregularity statistics and P(AF): high = irregular / AF
    two_state=True, change_estimate=ByStream({"p_af": ProbabilitySplit()}, default=BestSplit()),
))
register_detector(Detector(
    "cusum",
    {sem: {"h": (8.0, _POS), "p0": (0.2, _DELTA), "p1": (0.8, _DELTA), "initial": ("low", _INITIAL)}
     for sem in SEMANTICS},
    lambda x, p, semantics: cusum(x, p["p0"], p["p1"], p["h"], p["initial"] == "estimate"),
    "h", ("irr",), binary=True, two_state=True, check=_cusum_check,
))


def resolve_params(name: str, semantics: str = "river", params: dict | None = None) -> dict:
    """Validated parameters of detector ``name`` (river names, defaults filled in).

    Raises :class:`ConfigError` naming the unknown detector, semantics or parameter, or the
    parameter whose value is out of range.
    """
    detector = DETECTORS.spec(name)
    if semantics not in SEMANTICS:
        raise ConfigError("semantics", f"unknown semantics {semantics!r}; choose one of {list(SEMANTICS)}")
    spec = detector.params[semantics]
    params = dict(params or {})
    unknown = sorted(set(params) - set(spec))
    if unknown:
        raise ConfigError(
            unknown[0], f"not a parameter of {name} ({semantics} semantics); parameters: {list(spec)}"
        )
    out = {key: check(key, params.get(key, default)) for key, (default, check) in spec.items()}
    if detector.check is not None:
        detector.check(out)
    return out


def check_stream(x, binary: bool = False, source: str = "stream") -> np.ndarray:
    """``x`` as a contiguous float64 array; :class:`InputError` if it is empty, not finite or (``binary``) not 0/1."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise InputError(source, f"a stream must be one-dimensional, got shape {x.shape}")
    if x.size == 0:
        raise InputError(source, "empty stream: nothing to detect on")
    bad = ~np.isfinite(x)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(source, f"stream value {x[i]} at index {i} is not finite (NaN or inf)")
    if binary:
        off = (x != 0.0) & (x != 1.0)
        if off.any():
            i = int(np.argmax(off))
            raise InputError(source, f"DDM and CUSUM need a 0/1 stream, value {x[i]} at index {i}")
    return x


def detect_changes(name: str, x, semantics: str = "river", source: str = "stream", **params):
    """``(alarm, change, direction)`` of detector ``name`` on ``x``: int64 indices of the elements on which
    it fired (ascending), int64 indices of its change estimates (``change <= alarm``) and int8 directions.

    ``source`` names the stream in error messages (e.g. the file it came from).
    """
    p = resolve_params(name, semantics, params)
    x = check_stream(x, binary=DETECTORS[name].binary, source=source)
    return DETECTORS[name].run(x, p, semantics)


def detect(name: str, x, semantics: str = "river", source: str = "stream", **params) -> np.ndarray:
    """Ascending int64 indices of the elements of ``x`` on which detector ``name`` fired.

    ``source`` names the stream in error messages (e.g. the file it came from).
    """
    return detect_changes(name, x, semantics, source, **params)[0]
