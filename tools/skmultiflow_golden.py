"""Golden outputs of the real scikit-multiflow 0.5.3 detectors, for tests/test_detectors.py.

scikit-multiflow cannot share an environment with river or wfdb, so this runs in two steps:

    .venv/bin/python tools/skmultiflow_golden.py streams    # fixed streams -> tests/golden/skmultiflow/streams.npz
    ../shared/tools/skmultiflow-reference.sh /tmp/venv-skmultiflow
    /tmp/venv-skmultiflow/bin/python tools/skmultiflow_golden.py run   # -> adwin.npz, pagehinkley.npz, ddm.npz

The streams are seeded synthetic series plus, when ../shared/data exists, real ones built with
ecgflow.streams (afdb RR intervals, mitdb ECG smoothed). Each detector file holds ``cases`` (JSON: stream
name and parameters with river's names) and ``idx_<k>``: the indices of the elements after whose
``add_element()`` the detector's ``detected_change()`` was true, one detector object per case, never
reset by hand (as a user loop does).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "golden" / "skmultiflow"
SHARED = ROOT.parent / "shared" / "data"

# river name -> scikit-multiflow name
RENAME = {
    "adwin": {"delta": "delta"},
    "pagehinkley": {"min_instances": "min_instances", "delta": "delta", "threshold": "threshold", "alpha": "alpha"},
    "ddm": {"warm_start": "min_num_instances", "warning_threshold": "warning_level", "drift_threshold": "out_control_level"},
}

CASES = {
    "adwin": [
        ("regime", {}),
        ("regime", {"delta": 0.2}),
        ("oscillation", {"delta": 0.002}),
        ("oscillation", {"delta": 0.5}),
        ("rr_04015", {"delta": 0.05}),
        ("drr_04015", {"delta": 0.2}),
        ("ecg_201", {"delta": 0.08}),
    ],
    "pagehinkley": [
        ("regime", {"threshold": 20.0}),
        ("regime", {"threshold": 2.0, "min_instances": 3, "delta": 0.1, "alpha": 0.99}),
        ("oscillation", {"threshold": 5.0, "alpha": 1.0, "delta": 0.0}),
        ("rr_04015", {"threshold": 0.5}),
        ("drr_04015", {"threshold": 0.1, "delta": 0.001}),
        ("ecg_201", {"threshold": 5.0}),
    ],
    "ddm": [
        ("binary", {}),
        ("binary", {"drift_threshold": 1.5, "warm_start": 5}),
        ("binary", {"drift_threshold": 2.5, "warning_threshold": 1.0, "warm_start": 100}),
        ("irr_04015", {"drift_threshold": 1.5}),
        ("irr_04015", {"drift_threshold": 3.0, "warm_start": 10}),
    ],
}


def make_streams() -> None:
    """Write the fixed streams (float64) used by every case."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests"))
    from helpers_detect import afdb_beats, binary_stream, mitdb_tidy, regime_stream

    from ecgflow.streams import build_stream

    t = np.arange(20_000)
    streams = {
        "regime": regime_stream(11, n_regimes=8, length=2500),
        "oscillation": np.sin(2 * np.pi * 1.2 * t / 250) + np.random.default_rng(12).normal(0, 0.1, t.size),
        "binary": binary_stream(13, n_regimes=10, length=2000),
    }
    if SHARED.exists():
        beats, fs = afdb_beats("04015", limit=8000)
        streams["rr_04015"] = build_stream("rr", 1, beats=beats, fs=fs)[0]
        streams["drr_04015"] = build_stream("drr", 2, beats=beats, fs=fs)[0]
        streams["irr_04015"] = build_stream("irr", 60, beats=beats, fs=fs)[0]
        tidy, _ = mitdb_tidy("201", 30_000)
        streams["ecg_201"] = build_stream("ecg", 25, tidy=tidy)[0]
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT / "streams.npz", **streams)
    print("streams:", {k: v.size for k, v in streams.items()})


def run_reference() -> None:
    """Run scikit-multiflow over every case whose stream exists and write one file per detector."""
    import skmultiflow
    from skmultiflow.drift_detection import DDM, ADWIN, PageHinkley

    assert skmultiflow.__version__ == "0.5.3", skmultiflow.__version__
    classes = {"adwin": ADWIN, "pagehinkley": PageHinkley, "ddm": DDM}
    streams = np.load(OUT / "streams.npz")
    for detector, cases in CASES.items():
        kept, arrays = [], {}
        for stream, params in cases:
            if stream not in streams:
                continue
            det = classes[detector](**{RENAME[detector][k]: v for k, v in params.items()})
            fired = []
            values = streams[stream]
            values = [int(v) for v in values] if detector == "ddm" else values.tolist()
            for i, v in enumerate(values):
                det.add_element(v)
                if det.detected_change():
                    fired.append(i)
            arrays[f"idx_{len(kept)}"] = np.array(fired, dtype=np.int64)
            kept.append({"stream": stream, "params": params})
            print(detector, stream, params, len(fired), flush=True)
        np.savez_compressed(OUT / f"{detector}.npz", cases=json.dumps(kept), **arrays)


if __name__ == "__main__":
    step = sys.argv[1] if len(sys.argv) > 1 else ""
    if step == "streams":
        make_streams()
    elif step == "run":
        run_reference()
    else:
        sys.exit(__doc__)
