"""Bad input: a clear error naming the file (or config key) and the problem, and no output left behind."""

import struct

import numpy as np
import pytest
import yaml

from conftest import ROOT, snakemake, write_wfdb
from ecgflow.errors import ConfigError, InputError
from ecgflow.sources import DATASETS, dataset_spec
from ecgflow.wfdb_read import read_record

DEMO = DATASETS["demo"]


@pytest.fixture
def raw(tmp_path):
    write_wfdb(tmp_path, "r1")
    return tmp_path


def test_missing_dat(raw):
    (raw / "r1.dat").unlink()
    with pytest.raises(InputError, match=r"r1\.dat: signal file missing"):
        read_record(DEMO, raw, "r1")


def test_truncated_dat(raw):
    data = (raw / "r1.dat").read_bytes()
    (raw / "r1.dat").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"r1\.dat: truncated"):
        read_record(DEMO, raw, "r1")


def test_header_does_not_parse(raw):
    (raw / "r1.hea").write_text("r1 two 250 abc\nnonsense\n")
    with pytest.raises(InputError, match=r"r1\.hea: header does not parse"):
        read_record(DEMO, raw, "r1")


def test_annotations_past_end(tmp_path):
    write_wfdb(tmp_path, "r1", rhythm=((0, "(N"), (2000, "(AFIB"), (9000, "(N")))
    with pytest.raises(InputError, match=r"r1\.atr: annotation at sample 9000 lies past the end"):
        read_record(DEMO, tmp_path, "r1")


def test_end_of_episode_mark_at_or_one_past_last_sample_is_fine(tmp_path):
    for end in (4999, 5000):
        write_wfdb(tmp_path, "r1", rhythm=((0, "(AFIB"), (end, "(N")))
        rec = read_record(dataset_spec("cpsc2021"), tmp_path, "r1")
        assert rec.rhythms.labels == ("(AFIB",)


def test_nan_stretch(tmp_path):
    x = np.random.default_rng(0).normal(size=(5000, 2))
    x[1000:1100, 0] = np.nan
    write_wfdb(tmp_path, "r1", signal=x)
    with pytest.raises(InputError, match=r"r1\.dat: 100 missing \(NaN\) samples, the first at sample 1000"):
        read_record(DEMO, tmp_path, "r1")


def test_flat_line(tmp_path):
    x = np.random.default_rng(0).normal(size=(5000, 2))
    x[1000:4000, 0] = 0.5
    write_wfdb(tmp_path, "r1", signal=x)
    with pytest.raises(InputError, match=r"r1\.dat: flat line of 12\.0 s from sample 1000"):
        read_record(DEMO, tmp_path, "r1", max_flat_s=10)


def test_non_monotonic_annotations(raw):
    def word(kind, diff):
        return struct.pack("<H", (kind << 10) | diff)

    back = (-150) & 0xFFFFFFFF  # a SKIP word with a negative interval moves the annotation time backwards
    data = word(1, 100) + word(1, 200) + word(59, 0) + struct.pack("<HH", back >> 16, back & 0xFFFF) + word(1, 0) + b"\0\0"
    (raw / "r1.atr").write_bytes(data)
    with pytest.raises(InputError, match=r"r1\.atr: annotation samples are not monotonic \(sample 150 follows 300\)"):
        read_record(DEMO, raw, "r1")


def test_missing_annotations(raw):
    (raw / "r1.atr").unlink()
    with pytest.raises(InputError, match=r"r1\.atr: annotation file missing"):
        read_record(DEMO, raw, "r1")


def test_unknown_dataset_name():
    with pytest.raises(ConfigError, match="config key 'dataset': unknown dataset 'nope'"):
        dataset_spec("nope")


def workdir_with_config(tmp_path, **changes):
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config.update(changes)
    (tmp_path / "config").mkdir(parents=True, exist_ok=True)
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    return tmp_path


def test_workflow_rejects_unknown_dataset(tmp_path):
    proc = snakemake(workdir_with_config(tmp_path, dataset="nope"), "-n", check=False)
    assert proc.returncode != 0
    assert "dataset" in proc.stdout and "nope" in proc.stdout


def test_workflow_rejects_grid_value_of_wrong_type(tmp_path):
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["detectors"]["adwin"]["streams"]["rr"]["threshold"]["values"] = [0.002, "big"]
    proc = snakemake(workdir_with_config(tmp_path, detectors=config["detectors"]), "-n", check=False)
    assert proc.returncode != 0
    assert "'big' is not of type 'number'" in proc.stdout and "threshold" in proc.stdout


def test_workflow_bad_record_fails_cleanly(tmp_path):
    """A truncated record: non-zero exit, the file named, and no Parquet of it left behind."""
    raw = tmp_path / "raw"
    write_wfdb(raw, "100")
    write_wfdb(raw, "101")
    data = (raw / "101.dat").read_bytes()
    (raw / "101.dat").write_bytes(data[:100])
    work = workdir_with_config(tmp_path / "work", dataset="mitdb", data_dir=str(raw))
    proc = snakemake(work, "tidy", "--keep-going", check=False)
    assert proc.returncode != 0
    assert "101.dat: truncated" in proc.stdout
    out = work / "results" / "mitdb"
    assert (out / "tidy" / "100.parquet").exists()
    assert not list(out.rglob("101*"))
    assert not list(out.rglob("*.tmp"))
