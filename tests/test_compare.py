"""Every method runs end to end on digits and beats random detection, with the stated score direction."""
import json

import numpy as np
import pytest

from lsw.config import RunConfig
from lsw.errors import LswError
from lsw.research.compare import run_compare
from lsw.rundir import RunDir


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    pytest.importorskip("cleanlab")
    out = tmp_path_factory.mktemp("cmp")
    # LSW's score is alpha: the paper's step, which moves every weight in a run this short
    cfg = RunConfig(data="digits", noise="symmetric:0.3", clean_per_class=10, epochs=6, device="cpu",
                    alpha_step="sum", eta_alpha=1.0)
    return run_compare(cfg, ["lsw", "mwnet", "l2rw", "cleanlab", "small-loss"], out, folds=2), out


def test_every_method_beats_random(result):
    res, out = result
    rows = {r["method"]: r for r in res["rows"]}
    assert list(rows) == ["lsw", "mwnet", "l2rw", "cleanlab", "small-loss", "small-loss (averaged)",
                          "small-loss (averaged + second pass)"]
    for m, r in rows.items():
        assert r["auc"] > 0.6, (m, r)
        assert 0 <= r["f1"] <= 1 and r["step_cost_vs_plain"] > 0
    assert rows["small-loss"]["step_cost_vs_plain"] == 1.0
    assert json.loads((out / "compare.json").read_text())["rows"][0]["method"] == "lsw"


def test_small_loss_is_also_ranked_by_the_averaged_trust(result):
    """The second small-loss row ranks the same run by LSW's score (trust averaged over the epochs), so
    that what averaging gives is not counted as LSW's lead; the plain row keeps the last epoch's loss."""
    from lsw.metrics import detection_metrics
    from lsw.trust import stored_trust

    res, out = result
    rows = {r["method"]: r for r in res["rows"]}
    run = RunDir(out / "small-loss")
    s = run.samples()
    is_noisy = (s["labels"] != s["true_labels"])[s["noisy_index"]]
    last = run.epoch_arrays(run.epochs()[-1])
    assert rows["small-loss (averaged)"]["auc"] == pytest.approx(detection_metrics(is_noisy, stored_trust(last))["auc"])
    assert rows["small-loss"]["auc"] == pytest.approx(detection_metrics(is_noisy, np.exp(-last["loss"]))["auc"])


def test_small_loss_gets_the_second_pass_lsw_gets(result, monkeypatch):
    """The third small-loss row re-scores the averaged trust with LSW's second pass (`lsw.second_pass`), so
    that what the second pass gives is not counted as LSW's lead either; without LSW it is not run."""
    from lsw.research import compare

    res, out = result
    rows = {r["method"]: r for r in res["rows"]}
    assert RunDir(out / "lsw").metrics()[-1]["phase"] == "second pass"
    assert 0.6 < rows["small-loss (averaged + second pass)"]["auc"] <= 1
    assert rows["small-loss (averaged + second pass)"]["seconds"] > rows["small-loss"]["seconds"]
    called = []
    monkeypatch.setattr(compare, "small_loss_second_pass", lambda *a: called.append(a))
    cfg = RunConfig(data="digits", noise="symmetric:0.3", clean_per_class=10, epochs=1, device="cpu")
    only = run_compare(cfg, ["small-loss"], out / "only")
    assert [r["method"] for r in only["rows"]] == ["small-loss", "small-loss (averaged)"] and not called


def test_small_loss_second_pass_is_taught_by_the_small_loss_network(tmp_path, monkeypatch):
    """As the LSW network teaches LSW's second network, the small-loss network teaches the small-loss row's."""
    import torch

    from lsw.research import compare

    taught = []
    real = compare.second_pass

    def spy(*args, first=None, **kwargs):
        taught.append({k: v.clone() for k, v in first.state_dict().items()})
        return real(*args, first=first, **kwargs)

    monkeypatch.setattr(compare, "second_pass", spy)
    cfg = RunConfig(data="digits", noise="symmetric:0.3", clean_per_class=10, epochs=1, device="cpu",
                    teacher_weight=0.5)
    run_compare(cfg, ["lsw", "small-loss"], tmp_path)
    saved = torch.load(RunDir(tmp_path / "small-loss").checkpoint, weights_only=False)["model"]
    assert len(taught) == 1 and taught[0].keys() == saved.keys()
    assert all(torch.equal(taught[0][k], saved[k]) for k in saved)


def test_scores_have_the_stated_direction(result):
    """Higher score = trusted: the clean samples' mean score is above the noisy samples'."""
    res, out = result
    samples = RunDir(out / "lsw").samples()
    is_noisy = (samples["labels"] != samples["true_labels"])[samples["noisy_index"]]
    for m in ("lsw", "mwnet", "l2rw", "small-loss"):
        run = RunDir(out / m)
        score = run.method_score(run.epochs()[-1])
        assert score[~is_noisy].mean() > score[is_noisy].mean(), m
    for m, h in res["histograms"].items():
        assert set(h["counts"]) == {"clean", "noisy"}, m


def test_compare_refuses_a_folder_holding_a_comparison_unless_forced(tmp_path):
    cfg = RunConfig(data="digits", noise="symmetric:0.3", clean_per_class=10, epochs=1, device="cpu",
                    second_pass=0)
    run_compare(cfg, ["small-loss"], tmp_path)
    with pytest.raises(LswError, match="--force"):
        run_compare(cfg, ["small-loss"], tmp_path)
    with pytest.raises(LswError, match="small-loss"):  # the run alone, its results file gone
        (tmp_path / "compare.json").unlink()
        run_compare(cfg, ["lsw", "small-loss"], tmp_path)
    assert RunDir(tmp_path / "small-loss").epochs() == [1] and not (tmp_path / "lsw").exists()
    run_compare(cfg, ["small-loss"], tmp_path, force=True)
    assert RunDir(tmp_path / "small-loss").epochs() == [1] and (tmp_path / "compare.json").exists()


def test_compare_needs_noise(tmp_path):
    with pytest.raises(LswError, match="--noise"):
        run_compare(RunConfig(epochs=1, device="cpu"), ["lsw"], tmp_path)
    with pytest.raises(LswError, match="unknown method"):
        run_compare(RunConfig(epochs=1, noise="symmetric:0.3", device="cpu"), ["coteaching"], tmp_path)


def test_compare_scores_a_manifest_against_its_true_labels_without_noise(tmp_path):
    # bug g: a CSV manifest with a true_label column was refused unless --noise was given
    from PIL import Image

    rows = ["path,label,true_label"]
    rng = np.random.default_rng(0)
    for i in range(60):
        true = i % 2
        Image.fromarray(rng.integers(0, 60, (8, 8), dtype=np.uint8) + 180 * true).save(tmp_path / f"{i}.png")
        given = 1 - true if i % 5 == 0 and i >= 10 else true  # 10 wrong labels, some may be drawn as clean
        rows.append(f"{i}.png,{'ab'[given]},{'ab'[true]}")
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    cfg = RunConfig(data=f"csv:{tmp_path}/m.csv", clean_per_class=5, epochs=2, start_epoch=1, batch_size=16,
                    device="cpu")
    res = run_compare(cfg, ["lsw", "small-loss"], tmp_path / "cmp")
    assert 0 < res["noise_rate"] <= 10 / 50 and [r["method"] for r in res["rows"]] == [
        "lsw", "small-loss", "small-loss (averaged)", "small-loss (averaged + second pass)"]
    assert all(r["auc"] is not None for r in res["rows"])
