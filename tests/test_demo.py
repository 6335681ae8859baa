"""Generated demo data: determinism, WFDB readability, annotation structure, rhythm content, PTB-XL layout."""

import filecmp

import numpy as np
import pandas as pd
import pytest
import wfdb
from scipy.signal import find_peaks

from ecgflow.demo.ptbxl import LEADS, ptbxl_signal, read_statements, write_demo_ptbxl, write_fmt16
from ecgflow.demo.records import demo_record_names, write_demo_record
from ecgflow.training.datasets import SUPERCLASSES, superclass_matrix as superclass_labels
from ecgflow.errors import InputError

FS = 250
DURATION = 600


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    for name in ("d01", "d02"):
        write_demo_record(out, name, seed=7, duration_s=DURATION, fs=FS)
    return out


def test_same_seed_same_bytes_and_records_independent(demo_dir, tmp_path):
    write_demo_record(tmp_path, "d02", seed=7, duration_s=DURATION, fs=FS)
    for ext in ("hea", "dat", "atr"):
        assert filecmp.cmp(demo_dir / f"d02.{ext}", tmp_path / f"d02.{ext}", shallow=False)
    write_demo_record(tmp_path, "d02", seed=8, duration_s=DURATION, fs=FS)
    assert not filecmp.cmp(demo_dir / "d02.dat", tmp_path / "d02.dat", shallow=False)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary leftovers


def test_bad_record_name(tmp_path):
    with pytest.raises(InputError, match="d01"):
        write_demo_record(tmp_path, "x1", seed=1, duration_s=10)
    assert demo_record_names(3) == ["d01", "d02", "d03"]


def test_record_readable_mitdb_like(demo_dir):
    rec = wfdb.rdrecord(str(demo_dir / "d01"))
    assert rec.fs == FS and rec.sig_len == DURATION * FS
    assert rec.sig_name == ["MLII", "V1"] and rec.units == ["mV", "mV"]
    assert rec.fmt == ["212", "212"] and rec.adc_gain == [200.0, 200.0]
    assert np.isfinite(rec.p_signal).all() and 0.05 < rec.p_signal[:, 0].std() < 1.0


def read_annotations(path):
    ann = wfdb.rdann(str(path), "atr")
    sym = np.array(ann.symbol)
    rhythm = sym == "+"
    return ann.sample, sym, rhythm, np.array(ann.aux_note)


def test_rhythm_annotation_structure(demo_dir):
    for name in ("d01", "d02"):
        sample, sym, rhythm, aux = read_annotations(demo_dir / name)
        assert np.all(np.diff(sample) >= 0)
        assert sample[rhythm][0] == 0 and aux[rhythm][0] == "(N"
        labels = aux[rhythm]
        assert set(labels) <= {"(N", "(AFIB", "(AFL", "(SBR", "(B", "(T"}
        assert np.all(labels[1:] != labels[:-1])  # every rhythm annotation is a change
        assert sum(labels == "(AFIB") >= 2 and 4 <= len(labels) - 1 <= 12
        assert set(sym[~rhythm]) <= {"N", "A", "V", "F"} and np.all(aux[~rhythm] == "")


def test_beats_at_r_peaks(demo_dir):
    rec = wfdb.rdrecord(str(demo_dir / "d01"))
    sample, sym, rhythm, _ = read_annotations(demo_dir / "d01")
    x = rec.p_signal[:, 0]
    kernel = np.ones(int(0.2 * FS)) / int(0.2 * FS)
    hp = x - np.convolve(x, kernel, mode="same")  # remove baseline
    half = int(0.06 * FS)
    beats = sample[~rhythm]
    beats = beats[(beats > half) & (beats < len(x) - half)]
    peaks = np.array([b - half + np.argmax(np.abs(hp[b - half:b + half + 1])) for b in beats])
    assert np.mean(np.abs(peaks - beats) <= 2) > 0.95
    # and a simple detector finds no beat that is not annotated
    found, _ = find_peaks(np.abs(hp), height=0.5 * np.median(np.abs(hp[beats])), distance=int(0.25 * FS))
    nearest = np.abs(found[:, None] - beats[None, :]).min(axis=1)
    assert np.mean(nearest <= int(0.05 * FS)) > 0.97 and abs(len(found) - len(beats)) < 0.03 * len(beats)


def test_af_rr_more_irregular_than_sinus(demo_dir):
    for name in ("d01", "d02"):
        sample, sym, rhythm, aux = read_annotations(demo_dir / name)
        starts, labels = sample[rhythm], aux[rhythm]
        beats, bsym = sample[~rhythm], sym[~rhythm]
        in_rhythm = labels[np.searchsorted(starts, beats, side="right") - 1]
        rr = np.diff(beats) / FS
        nn = (bsym[1:] == "N") & (bsym[:-1] == "N")

        def irregularity(label):
            sel = nn & (in_rhythm[1:] == label) & (in_rhythm[:-1] == label)
            x = rr[sel]
            return np.sqrt(np.mean(np.diff(x) ** 2)) / x.mean()

        assert irregularity("(AFIB") > 3 * irregularity("(N")
        assert irregularity("(AFIB") > 0.12 and irregularity("(N") < 0.08


def test_write_fmt16_matches_wfdb(tmp_path):
    digital = np.round(ptbxl_signal(np.random.default_rng(3), ["CRBBB"]) * 1000).astype(np.int64)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_fmt16(tmp_path / "a" / "00001_lr", digital, 100, LEADS)
    wfdb.wrsamp("00001_lr", fs=100, units=["mV"] * 12, sig_name=list(LEADS), d_signal=digital, fmt=["16"] * 12,
                adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(tmp_path / "b"))
    for ext in ("hea", "dat"):
        assert filecmp.cmp(tmp_path / "a" / f"00001_lr.{ext}", tmp_path / "b" / f"00001_lr.{ext}", shallow=False)


@pytest.fixture(scope="module")
def ptbxl_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("ptbxl")
    write_demo_ptbxl(out, n_records=400, seed=11)
    return out


def test_ptbxl_layout_and_labels(ptbxl_dir):
    db = pd.read_csv(ptbxl_dir / "ptbxl_database.csv")
    statements = pd.read_csv(ptbxl_dir / "scp_statements.csv", index_col=0)
    assert len(db) == 400 and db["ecg_id"].is_unique and set(db["strat_fold"]) == set(range(1, 11))
    assert db.groupby("patient_id")["strat_fold"].nunique().max() == 1
    assert db["filename_lr"].iloc[0] == "records100/00000/00001_lr"
    rec = wfdb.rdrecord(str(ptbxl_dir / db["filename_lr"].iloc[-1]))
    assert rec.fs == 100 and rec.sig_len == 1000 and rec.sig_name == list(LEADS)
    assert rec.fmt == ["16"] * 12 and rec.adc_gain == [1000.0] * 12 and rec.units == ["mV"] * 12
    assert np.allclose(rec.p_signal[:, 2], rec.p_signal[:, 1] - rec.p_signal[:, 0], atol=0.003)  # III = II - I
    y = superclass_labels(db, statements)
    freq = y.mean()
    assert freq["NORM"] == freq.max() and 0.3 < freq["NORM"] < 0.55
    assert all(0.05 < freq[c] < 0.4 for c in SUPERCLASSES[1:])
    assert 0.1 < (y.sum(axis=1) > 1).mean() < 0.4 and 0 < (y.sum(axis=1) == 0).mean() < 0.06
    assert statements.loc["NORM", "diagnostic_class"] == "NORM"
    assert read_statements().shape == statements.shape


def test_ptbxl_deterministic(ptbxl_dir, tmp_path):
    write_demo_ptbxl(tmp_path, n_records=400, seed=11)
    for rel in ("ptbxl_database.csv", "records100/00000/00123_lr.dat", "records100/00000/00399_lr.hea"):
        assert filecmp.cmp(ptbxl_dir / rel, tmp_path / rel, shallow=False)


def test_ptbxl_classes_differ_in_morphology():
    def mean_peak(codes, lead):
        return np.mean([np.abs(ptbxl_signal(np.random.default_rng(i), codes)[:, LEADS.index(lead)]).max()
                        for i in range(20)])

    def qrs_width(codes):  # samples where the precordial QRS slope is steep, per second of signal
        return np.mean([np.mean(np.abs(np.diff(ptbxl_signal(np.random.default_rng(i), codes)[:, 6:], axis=0)) > 0.1)
                        for i in range(20)])

    assert mean_peak(["LVH"], "V5") > 1.3 * mean_peak(["NORM"], "V5")
    assert qrs_width(["CLBBB"]) > qrs_width(["NORM"])


def test_long_record_loops_in_chunks_give_the_same_signal(monkeypatch):
    """The generator's chunked loops (bounded memory on 24-h records) do not depend on the chunk size:
    the noise's chunking is exact; the waves' only reorders a sum."""
    from ecgflow.demo import synth

    n, fs = 30_000, 250.0
    rng = np.random.default_rng(3)
    center = np.sort(rng.uniform(-50, n + 50, 600))
    sigma, amp = rng.uniform(1, 20, 600), rng.normal(size=(600, 2))

    def draw():
        return (synth.gaussian_sum(n, center, sigma, amp),
                synth.noise(np.random.default_rng(7), n, fs, 2, artefacts=True),
                synth.flutter(np.random.default_rng(8), n, fs, [(-1.0, 20.0, 4.5, 0.0), (60.0, 90.0, 5.0, 60.0)], 2))

    whole = draw()
    monkeypatch.setattr(synth, "CHUNK", 97)
    chunked = draw()
    np.testing.assert_allclose(chunked[0], whole[0], rtol=0, atol=1e-12)
    assert np.abs(whole[0]).max() > 0.5
    np.testing.assert_array_equal(chunked[1], whole[1])
    np.testing.assert_array_equal(chunked[2], whole[2])
    # flutter computes each episode over its envelope's span only: the same as over the whole record
    rng, t, expected = np.random.default_rng(8), synth.sample_times(0, n, fs), np.zeros((n, 2))
    for a, b, rate, ref in [(-1.0, 20.0, 4.5, 0.0), (60.0, 90.0, 5.0, 60.0)]:
        x = np.mod(rate * (t - ref) + 0.7, 1.0)
        env = synth.smooth_envelope(t, [a], [b], 0.2)
        expected += ((np.where(x < 0.75, -x / 0.75, -(1 - x) / 0.25) + 0.5) * env)[:, None] * (
            rng.uniform(0.1, 0.2) * np.array([1.0, -0.5]))
    np.testing.assert_array_equal(whole[2], expected)
    assert np.abs(expected[: int(20 * fs)]).max() > 0.05 and not expected[int(25 * fs): int(55 * fs)].any()
