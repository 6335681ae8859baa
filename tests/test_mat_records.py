"""Challenge-style WFDB records: a ``.hea`` header describing a MATLAB v4 ``.mat`` file (CinC 2021 layout)."""

import shutil

import numpy as np
import pytest

from conftest import SHARED, needs_shared
from ecgflow.errors import InputError
from ecgflow.wfdb_read import read_lead

CINC = SHARED / "ptbxl" / "cinc2021_format"
MAT_HEADER = 24  # MATLAB v4 header of a 12 x 5000 int16 matrix named "val": the WFDB header's byte offset


@needs_shared
def test_reads_lead_ii_of_a_mat_record():
    hea = CINC / "HR06000.hea"
    signal, name, header, files = read_lead(hea, "II")
    assert name == "II" and header.fs == 500 and header.sig_len == 5000
    assert header.fmt[1] == "16" and header.byte_offset[1] == MAT_HEADER and files == [CINC / "HR06000.mat"]
    # The matrix is stored column by column: 12 leads interleaved sample by sample; gain 1000 per mV.
    raw = np.fromfile(files[0], dtype="<i2", offset=MAT_HEADER).reshape(5000, 12)
    np.testing.assert_allclose(signal, raw[:, 1] / 1000, rtol=0, atol=1e-6)


@needs_shared
@pytest.mark.parametrize("record", [f"HR0600{i}" for i in range(10)])
def test_every_mat_record_passes_the_checks(record):
    assert read_lead(CINC / f"{record}.hea", ["MLII", "II"])[0].shape == (5000,)


@needs_shared
def test_truncated_mat_file(tmp_path):
    for ext in ("hea", "mat"):
        shutil.copy(CINC / f"HR06000.{ext}", tmp_path / f"HR06000.{ext}")
    mat = tmp_path / "HR06000.mat"
    mat.chmod(0o644)
    mat.write_bytes(mat.read_bytes()[:-2])  # the header's 24 bytes count: one sample short
    with pytest.raises(InputError, match=r"HR06000\.mat: truncated: 120022 bytes, header HR06000\.hea implies 120024"):
        read_lead(tmp_path / "HR06000.hea", "II")
