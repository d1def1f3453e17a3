"""The evidence for a flag (`lsw.evidence`): top classes and nearest trusted samples, checked against
brute force, and written by a finished audit."""
import numpy as np
import torch

from lsw import evidence


def test_nearest_is_the_brute_force_cosine_neighbour_in_any_chunking():
    g = torch.Generator().manual_seed(0)
    q, ref = torch.randn(50, 8, generator=g), torch.randn(30, 8, generator=g)
    sim = (q / q.norm(dim=1, keepdim=True)).numpy() @ (ref / ref.norm(dim=1, keepdim=True)).numpy().T
    want = np.argsort(-sim, axis=1)[:, :3]
    for chunk in (7, 50, 4096):
        assert (evidence.nearest(q, ref, chunk=chunk) == want).all()
    assert evidence.nearest(q, ref[:2]).shape == (50, 2)  # fewer trusted samples than 3


def test_top_classes_are_the_most_likely_best_first():
    probs = torch.tensor([[0.1, 0.6, 0.05, 0.25], [0.7, 0.1, 0.15, 0.05]])
    cls, p = evidence.top_classes(probs)
    assert cls.tolist() == [[1, 3, 0], [0, 2, 1]]
    assert np.allclose(p.astype(float), [[0.6, 0.25, 0.1], [0.7, 0.15, 0.1]], atol=1e-3)


def test_reference_rows_subsample_a_large_trusted_set(monkeypatch):
    monkeypatch.setattr(evidence, "MAX_REFERENCE", 10)
    clean = np.arange(100, 200)
    ref = evidence.reference_rows(clean)
    assert len(ref) == 10 and np.isin(ref, clean).all() and (np.diff(ref) > 0).all()
    assert (evidence.reference_rows(clean[:5]) == clean[:5]).all()


def test_a_finished_audit_writes_the_evidence_of_every_audited_sample(tmp_path):
    from lsw.audit import run_audit
    from lsw.config import RunConfig
    from lsw.rundir import RunDir

    run_audit(RunConfig(data="digits", noise="symmetric:0.3", clean_per_class=10, epochs=2, device="cpu",
                        eval_test=False), tmp_path / "run")
    run = RunDir(tmp_path / "run")
    s = run.samples()
    n = len(s["noisy_index"])
    ev = [run.evidence(i) for i in (0, n - 1)]
    for e in ev:
        assert e["top_class"].shape == (3,) and len(set(e["top_class"].tolist())) == 3
        assert np.all(np.diff(e["top_prob"].astype(float)) <= 0) and float(e["top_prob"].sum()) <= 1.001
        assert np.isin(e["near_trusted"], s["clean_index"]).all()
    assert RunDir(tmp_path / "nothing").evidence(0) is None


def test_evidence_taken_a_few_rows_at_a_time_equals_all_at_once():
    from lsw.device_data import DeviceImages
    from lsw.models import build_model

    torch.manual_seed(0)
    images = np.random.default_rng(0).integers(0, 256, (40, 1, 8, 8), dtype=np.uint8)
    data = DeviceImages(images, torch.device("cpu"), hflip=False)
    model = build_model("tinynet", (1, 8, 8), 5)
    noisy, clean = np.arange(30), np.arange(30, 40)
    whole = evidence.compute(model, data, noisy, clean)
    for rows in (7, 30):
        part = evidence.compute(model, data, noisy, clean, rows=rows)
        assert (part["top_class"] == whole["top_class"]).all() and (part["near_trusted"] == whole["near_trusted"]).all()
        assert np.allclose(part["top_prob"].astype(float), whole["top_prob"].astype(float), atol=1e-3)
    empty = evidence.compute(model, data, noisy[:0], clean)
    assert empty["top_class"].shape == (0, 3) and empty["near_trusted"].shape == (0, 3)
