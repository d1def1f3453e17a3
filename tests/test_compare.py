"""Every method runs end to end on digits and beats random detection, with the stated score direction."""
import json

import pytest

from lsw.config import RunConfig
from lsw.errors import LswError
from lsw.research.compare import run_compare
from lsw.rundir import RunDir


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    pytest.importorskip("cleanlab")
    out = tmp_path_factory.mktemp("cmp")
    cfg = RunConfig(data="digits", noise="symmetric:0.3", clean_per_class=10, epochs=6, device="cpu")
    return run_compare(cfg, ["lsw", "mwnet", "l2rw", "cleanlab", "small-loss"], out, folds=2), out


def test_every_method_beats_random(result):
    res, out = result
    rows = {r["method"]: r for r in res["rows"]}
    assert list(rows) == ["lsw", "mwnet", "l2rw", "cleanlab", "small-loss"]
    for m, r in rows.items():
        assert r["auc"] > 0.6, (m, r)
        assert 0 <= r["f1"] <= 1 and r["step_cost_vs_plain"] > 0
    assert rows["small-loss"]["step_cost_vs_plain"] == 1.0
    assert json.loads((out / "compare.json").read_text())["rows"][0]["method"] == "lsw"


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


def test_compare_needs_noise(tmp_path):
    with pytest.raises(LswError, match="--noise"):
        run_compare(RunConfig(epochs=1, device="cpu"), ["lsw"], tmp_path)
    with pytest.raises(LswError, match="unknown method"):
        run_compare(RunConfig(epochs=1, noise="symmetric:0.3", device="cpu"), ["coteaching"], tmp_path)
