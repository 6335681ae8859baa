"""Bad input: a clear error naming the file (or config key) and the problem, and no output left behind."""

import re
import shutil
import struct
import warnings

import jsonschema
import numpy as np
import pytest
import yaml

from conftest import ROOT, SHARED, needs_shared, snakemake, write_wfdb
from ecgflow.config_check import check_config, typed_overrides
from ecgflow.errors import ConfigError, InputError
from ecgflow.sources import dataset_spec
from ecgflow.record_read import read_record
from ecgflow.wfdb_read import MIN_BEAT_ALIGNMENT

DEMO = dataset_spec("demo")


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


def test_a_misspelled_key_gets_a_few_lines_naming_it_and_the_valid_names(tmp_path):
    proc = snakemake(workdir_with_config(tmp_path, recrods=["100"]), "-n", check=False)
    assert proc.returncode != 0
    assert "config key 'recrods': unknown key; did you mean 'records'? valid keys here: data_dir, dataset," in proc.stdout
    assert len(proc.stdout.splitlines()) < 10 and "Failed validating" not in proc.stdout


def test_a_wrong_dataset_entry_names_its_key(tmp_path):
    proc = snakemake(workdir_with_config(tmp_path, dataset="mine", datasets={"mine": {"beats": "detect", "formt": "edf"}}),
                     "-n", check=False)
    assert proc.returncode != 0 and "config key 'datasets.mine.formt': unknown key; did you mean 'format'?" in proc.stdout


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
    assert "Trying to restart" not in proc.stdout  # a deterministic error is not retried locally
    out = work / "results" / "mitdb"
    assert (out / "tidy" / "100.parquet").exists()
    assert not list(out.rglob("101*"))
    assert not list(out.rglob("*.tmp"))


@pytest.mark.parametrize(
    "record_line, problem",
    [
        ("r1 2 25O 5000", "sampling rate '25O' on the record line is not a number"),
        ("r1 2 250 5OOO", "number of samples '5OOO' on the record line is not an integer"),
        ("r1 2", "record line 'r1 2' lacks the sampling rate or the number of samples"),
        ("r1 2 0 5000", "sampling rate 0 is not positive"),
    ],
)
def test_header_numbers_that_do_not_parse(raw, record_line, problem):
    lines = (raw / "r1.hea").read_text().splitlines()
    (raw / "r1.hea").write_text("\n".join([record_line, *lines[1:]]) + "\n")
    with pytest.raises(InputError) as err:
        read_record(DEMO, raw, "r1")
    assert str(err.value) == f"{raw / 'r1.hea'}: header does not parse: {problem}"


def spiky_signal(beats, n=5000, seed=0):
    """Two leads of low noise with a sharp spike (a QRS complex, roughly) at each of ``beats``."""
    x = np.random.default_rng(seed).normal(0, 0.01, (n, 2))
    for b in beats:
        x[b - 2 : b + 3, :] += np.array([0.3, 0.8, 1.5, 0.8, 0.3])[:, None]
    return x


def test_beats_on_qrs_complexes_pass_the_alignment_check(tmp_path):
    write_wfdb(tmp_path, "r1", signal=spiky_signal(np.arange(100, 4950, 200)))  # the beats write_wfdb annotates
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = read_record(DEMO, tmp_path, "r1")
    assert rec.beat_alignment > 0.9 and not [w for w in caught if "another record" in str(w.message)]


def test_annotations_of_another_record_are_flagged(tmp_path):
    other = np.cumsum(np.random.default_rng(1).integers(150, 260, 40)) + 30
    write_wfdb(tmp_path, "r1", signal=spiky_signal(other[other < 4950]))
    with pytest.warns(UserWarning, match=r"record r1: only \d+% of the beats in r1\.atr .* another record\?"):
        rec = read_record(DEMO, tmp_path, "r1")
    assert rec.beat_alignment < MIN_BEAT_ALIGNMENT


@needs_shared
def test_mitdb_annotations_swapped_between_records_are_flagged(tmp_path):
    for ext in ("hea", "dat"):
        shutil.copy(SHARED / "mitdb" / f"100.{ext}", tmp_path / f"100.{ext}")
    shutil.copy(SHARED / "mitdb" / "101.atr", tmp_path / "100.atr")
    with pytest.warns(UserWarning, match="record 100: .* the annotation file of another record"):
        read_record(dataset_spec("mitdb"), tmp_path, "100")
    shutil.copy(SHARED / "mitdb" / "100.atr", tmp_path / "100.atr")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert read_record(dataset_spec("mitdb"), tmp_path, "100").beat_alignment > 0.9
    assert not [w for w in caught if "another record" in str(w.message)]


def test_config_check_names_the_full_key_and_valid_names():
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["detectors"]["adwin"]["params"] = {"delt": 0.1}
    with pytest.raises(ConfigError) as err:
        check_config(config)
    assert err.value.key == "detectors.adwin.params.delt"
    assert "parameters: ['delta', 'clock'" in err.value.problem
    config["detectors"]["adwin"]["params"] = {}
    config["detectors"]["adwin"]["streams"]["rr"]["params"] = {"clock": 0}
    with pytest.raises(ConfigError, match=r"'detectors\.adwin\.streams\.rr\.params\.clock': must be >= 1"):
        check_config(config)
    config["detectors"]["adwin"]["streams"]["rr"]["params"] = {"delta": 0.1}
    with pytest.raises(ConfigError, match=r"'detectors\.adwin\.streams\.rr\.params\.delta': is swept by"):
        check_config(config)
    config["detectors"]["adwin"]["streams"]["rr"].pop("params")
    config["detectors"]["adwin"]["streams"]["rr"]["window"]["name"] = "w"
    with pytest.raises(ConfigError, match=r"'detectors\.adwin\.streams\.rr\.window\.name'"):
        check_config(config)


def test_default_config_passes_the_check():
    check_config(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))


def test_workflow_rejects_misspelled_param_before_any_job(tmp_path):
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["detectors"]["adwin"]["params"] = {"delt": 0.1}
    proc = snakemake(workdir_with_config(tmp_path, detectors=config["detectors"]), "-n", check=False)
    assert proc.returncode != 0
    assert "config key 'detectors.adwin.params.delt': not a parameter of adwin" in proc.stdout
    assert "Building DAG" not in proc.stdout and not (tmp_path / "results").exists()


def test_nested_config_override_on_the_command_line(tmp_path):
    work = workdir_with_config(tmp_path)
    proc = snakemake(work, "report", "-n", "--config", "evaluation={tolerances_s: [3, 1.5], adaptive_fraction: null}",
                     check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    config = {"evaluation": {"tolerances_s": ["3", "1.5"], "adaptive_fraction": "null", "policies": ["greedy"]},
              "records": ["100"], "lead": "MLII", "detectors": {"adwin": {"params": {"delta": "0.1", "mode": "up"}}}}
    typed_overrides(config, ROOT / "config" / "schema" / "config.schema.yaml")
    assert config == {"evaluation": {"tolerances_s": [3, 1.5], "adaptive_fraction": None, "policies": ["greedy"]},
                      "records": ["100"], "lead": "MLII", "detectors": {"adwin": {"params": {"delta": 0.1, "mode": "up"}}}}


def test_schema_uses_defs_of_draft_2020_12():
    schema = yaml.safe_load((ROOT / "config" / "schema" / "config.schema.yaml").read_text())
    assert schema["$schema"].endswith("/draft/2020-12/schema") and "definitions" not in schema
    refs = re.findall(r"\$ref: \"([^\"]+)\"", (ROOT / "config" / "schema" / "config.schema.yaml").read_text())
    assert refs and all(r.startswith("#/$defs/") and r.split("/")[-1] in schema["$defs"] for r in refs)
    jsonschema.Draft202012Validator.check_schema(schema)
