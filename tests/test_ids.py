"""Sample ids packed as UTF-8 bytes and offsets (lsw.ids), and a run folder's two ways to read them."""
import numpy as np
import pytest

from lsw import ids as sample_ids
from lsw.rundir import RunDir

IDS = ["a/1.jpg", "ünïcödé/猫.png", "", "x" * 300, "=cmd|' /C calc'!A0"]


@pytest.mark.parametrize("ids", [IDS, [], ["only"]])
def test_pack_round_trips_through_numpy_and_arrow(ids):
    packed = sample_ids.pack(np.array(ids, dtype=str))
    assert packed[sample_ids.OFFSETS][0] == 0 and len(packed[sample_ids.OFFSETS]) == len(ids) + 1
    assert sample_ids.as_numpy(packed[sample_ids.BYTES], packed[sample_ids.OFFSETS]).tolist() == ids
    assert sample_ids.as_arrow(packed[sample_ids.BYTES], packed[sample_ids.OFFSETS]).to_pylist() == ids


def test_run_folder_reads_packed_ids_and_the_old_unicode_array(tmp_path):
    run = RunDir(tmp_path / "new")
    run.path.mkdir()
    run.write_samples(ids=np.array(IDS, dtype=str), labels=np.arange(len(IDS)), source_labels=np.arange(len(IDS)))
    assert run.samples()["ids"].tolist() == IDS and "ids" not in run.samples(ids=False)
    assert run.ids().to_pylist() == IDS
    old = RunDir(tmp_path / "old")  # written before 2026-11-28: ids as a numpy unicode array
    old.path.mkdir()
    labels = np.arange(len(IDS))
    np.savez(old.path / "samples.npz", ids=np.array(IDS, dtype=str), labels=labels, source_labels=labels)
    assert old.samples()["ids"].tolist() == IDS and old.ids().to_pylist() == IDS


def test_a_sample_table_without_pyarrow_holds_the_same_ids(tmp_path, monkeypatch):
    """A bare training machine may lack pyarrow: the table then gathers its ids through numpy."""
    from lsw.audit import run_audit
    from lsw.config import RunConfig

    run = RunDir(tmp_path / "run")
    run_audit(RunConfig(data="digits", clean_per_class=10, epochs=1, device="cpu", max_samples=300), run.path)
    arrow = run.sample_table(trusted=True)

    def no_pyarrow(self):
        raise ImportError("No module named 'pyarrow'")

    monkeypatch.setattr(RunDir, "ids", no_pyarrow)
    plain = run.sample_table(trusted=True)
    assert arrow["id"].astype(str).tolist() == plain["id"].astype(str).tolist() == \
        [str(i) for i in run.samples()["ids"][arrow["row"]]]
