"""EDF/EDF+ records: write_edf -> read_edf round trip, EDF+ annotations, lead choice, units and bad files."""

import numpy as np
import pytest

from ecgflow.demo.records import write_demo_record
from ecgflow.edf_read import EdfRecord, read_edf, write_edf
from ecgflow.errors import InputError
from ecgflow.wfdb_read import read_lead

FS = 250
# Widths of the per-signal header fields, in their order (each field holds all signals' values in turn).
FIELDS = {"label": 16, "transducer": 80, "dimension": 8, "physical_min": 8, "physical_max": 8,
          "digital_min": 8, "digital_max": 8, "prefiltering": 80, "samples": 8, "reserved": 32}


def set_field(path, n_signals: int, signal: int, name: str, value: bytes) -> None:
    """Overwrite one signal's header field of the EDF file ``path``."""
    start = 256
    for key, width in FIELDS.items():
        if key == name:
            break
        start += width * n_signals
    width = FIELDS[name]
    data = bytearray(path.read_bytes())
    data[start + signal * width:start + (signal + 1) * width] = value.ljust(width)
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """Both leads of demo record d01 (60 s at 250 Hz), as read from WFDB."""
    base = write_demo_record(tmp_path_factory.mktemp("raw"), "d01", seed=2026, duration_s=60, fs=FS)
    return {name: read_lead(base.with_suffix(".hea"), name)[0] for name in ("MLII", "V1")}


@pytest.fixture
def edf(tmp_path, demo):
    return write_edf(tmp_path / "d01.edf", {"ECG MLII": demo["MLII"], "ECG V1": demo["V1"]}, FS)


def test_round_trip(edf, demo):
    rec = read_edf(edf, "MLII")
    assert isinstance(rec, EdfRecord) and rec.lead == "ECG MLII" and rec.units == "mV"
    assert rec.fs == FS and rec.n_samples == len(rec.signal) == len(demo["MLII"]) == 60 * FS
    assert rec.signal.dtype == np.float32 and rec.annotations == []
    x = demo["MLII"]
    step = (float(x.max()) - float(x.min())) / 65535  # EDF: 16 bits over the signal's range
    np.testing.assert_allclose(rec.signal, x, rtol=0, atol=step)
    assert [p.name for p in edf.parent.iterdir()] == ["d01.edf"]  # written atomically: no temporary left


def test_length_not_a_multiple_of_fs_is_padded_with_the_last_value(tmp_path, demo):
    x = demo["MLII"][: 10 * FS - 100]
    rec = read_edf(write_edf(tmp_path / "short.edf", {"II": x}, FS), "II")
    assert rec.n_samples == 10 * FS
    np.testing.assert_allclose(rec.signal[len(x):], rec.signal[len(x) - 1])


def test_edf_plus_annotations(tmp_path, demo):
    notes = [(0.0, None, "(N"), (12.5, 3.0, "(AFIB"), (40.004, None, "(N")]
    path = write_edf(tmp_path / "a.edf", {"ECG II": demo["MLII"]}, FS, annotations=notes)
    rec = read_edf(path, "II")
    assert rec.annotations == notes and rec.n_samples == 60 * FS


@pytest.mark.parametrize(
    "lead, chosen",
    [("ECG MLII", "ECG MLII"), ("mlii", "ECG MLII"), (" ECG V1 ", "ECG V1"), (1, "ECG V1"),
     (["V5", "II", 1], "ECG V1"), (["V5", "v1", 0], "ECG V1")],
)
def test_lead_choice(edf, lead, chosen):
    assert read_edf(edf, lead).lead == chosen


def test_index_counts_ordinary_signals_only(tmp_path, demo):
    path = write_edf(tmp_path / "a.edf", {"II": demo["MLII"]}, FS, annotations=[(1.0, None, "x")])
    with pytest.raises(InputError, match=r"a\.edf: no lead matches 1; the file has \['II'\]"):
        read_edf(path, 1)


def test_missing_lead_names_the_file_and_the_labels(edf):
    with pytest.raises(InputError) as err:
        read_edf(edf, ["V5", 7])
    assert str(err.value) == f"{edf}: no lead matches ['V5', 7]; the file has ['ECG MLII', 'ECG V1']"


@pytest.mark.parametrize("content", [b"record,sample\nr01,0\n", b"", b"0       " * 40])
def test_not_an_edf_file(tmp_path, content):
    path = tmp_path / "x.edf"
    path.write_bytes(content)
    with pytest.raises(InputError, match=r"x\.edf: does not parse as EDF \(\w+Error: "):
        read_edf(path, 0)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"nope\.edf: EDF file missing"):
        read_edf(tmp_path / "nope.edf", 0)


def test_truncated_file(edf):
    data = edf.read_bytes()
    edf.write_bytes(data[:-1000])
    message = r"d01\.edf: damaged EDF file \(.*header indicates 60 data records, but file contains 59 records\.\)"
    with pytest.raises(InputError, match=message):
        read_edf(edf, 0)


def test_unknown_number_of_data_records_is_counted(edf):
    data = bytearray(edf.read_bytes())
    data[236:244] = b"-1      "  # allowed while recording
    edf.write_bytes(bytes(data))
    assert read_edf(edf, 0).n_samples == 60 * FS


def test_nan_samples(edf):
    set_field(edf, 2, 0, "physical_max", b"nan")  # a damaged calibration: every sample is NaN
    with pytest.raises(InputError, match=rf"d01\.edf: {60 * FS} missing \(NaN\) samples, the first at sample 0"):
        read_edf(edf, 0)


def test_uncalibrated_signal(edf):
    set_field(edf, 2, 0, "digital_min", b"32767")
    with pytest.raises(InputError, match=r"d01\.edf: damaged EDF file \(Digital minimum equals digital maximum"):
        read_edf(edf, 0)


def test_flat_line(tmp_path):
    x = np.random.default_rng(0).normal(size=20 * FS)
    x[1000:4000] = 0.5
    path = write_edf(tmp_path / "f.edf", {"II": x}, FS)
    with pytest.raises(InputError, match=r"f\.edf: flat line of 12\.0 s from sample 1000 \(limit max_flat_s=10"):
        read_edf(path, "II", max_flat_s=10)
    assert read_edf(path, "II", max_flat_s=15).n_samples == 20 * FS


@pytest.mark.parametrize(
    "dimension, scale, units",
    [(b"mV", 1.0, "mV"), (b"uV", 1e-3, "mV"), (b"\xb5V", 1e-3, "mV"), (b"V", 1e3, "mV"), (b"", 1.0, ""),
     (b"mmHg", 1.0, "mmHg")],
)
def test_units(edf, demo, dimension, scale, units):
    set_field(edf, 2, 0, "dimension", dimension)
    rec = read_edf(edf, 0)
    assert rec.units == units
    np.testing.assert_allclose(rec.signal, demo["MLII"] * scale, rtol=1e-4, atol=1e-3 * scale)


def test_write_needs_whole_hz(tmp_path):
    with pytest.raises(ValueError, match="whole number of Hz"):
        write_edf(tmp_path / "x.edf", {"II": np.zeros(1000)}, 128.5)
    assert not list(tmp_path.iterdir())
