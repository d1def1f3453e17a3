"""`--labels PATH.npz:KEY`: given labels from a file, truth from the source, trusted rows keep the truth."""
import numpy as np
import pytest

from lsw.cli import main
from lsw.config import RunConfig
from lsw.data import load_source
from lsw.errors import LswError
from lsw.prepare import prepare


@pytest.fixture
def label_file(tmp_path):
    truth = load_source("digits").train.labels
    rng = np.random.default_rng(0)
    given = truth.copy()
    wrong = rng.random(len(truth)) < 0.25
    given[wrong] = (truth[wrong] + rng.integers(1, 10, wrong.sum())) % 10
    path = tmp_path / "human.npz"
    np.savez(path, worker1=given.astype(np.int16), bad=np.zeros(3, np.int64))
    return path, truth, given


def test_given_labels_on_the_noisy_set_and_truth_from_the_source(label_file):
    path, truth, given = label_file
    p = prepare(RunConfig(data="digits", labels=f"{path}:worker1", clean_per_class=10), progress=False)
    assert np.array_equal(p.true_labels, truth)
    assert np.array_equal(p.labels[p.split.noisy], given[p.split.noisy])
    trusted = np.concatenate([p.split.clean, p.split.val])
    assert np.array_equal(p.labels[trusted], truth[trusted])  # the trusted set is verified
    assert abs(p.noise_rate - np.mean(given[p.split.noisy] != truth[p.split.noisy])) < 1e-12
    plain = prepare(RunConfig(data="digits", clean_per_class=10), progress=False)
    assert p.source.fingerprint != plain.source.fingerprint  # decisions on other labels are kept apart
    sub = prepare(RunConfig(data="digits", labels=f"{path}:worker1", clean_per_class=10, max_samples=500),
                  progress=False)
    rows = sub.split.noisy
    where = {sid: i for i, sid in enumerate(load_source("digits").train.ids)}
    assert np.array_equal(sub.labels[rows], given[[where[sub.source.train.ids[r]] for r in rows]])


@pytest.mark.parametrize("spec, message", [
    ("{path}:nokey", "has no array 'nokey'"),
    ("{path}:bad", "has 3 labels but the training set has"),
    ("{path}", "write PATH.npz:KEY"),
    ("/nowhere/x.npz:k", "not found"),
])
def test_bad_label_files_are_refused_in_one_line(label_file, spec, message):
    path, _, _ = label_file
    with pytest.raises(LswError, match=message):
        prepare(RunConfig(data="digits", labels=spec.format(path=path)), progress=False)


def test_labels_and_synthetic_noise_are_exclusive_on_the_cli(label_file, tmp_path, capsys):
    path, _, _ = label_file
    code = main(["run", "--data", "digits", "--labels", f"{path}:worker1", "--noise", "symmetric:0.2",
                 "--out", str(tmp_path / "r")])
    assert code == 2 and "not both" in capsys.readouterr().err
