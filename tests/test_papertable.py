"""The paper-table harness is honest: the test split is read only by the final evaluation."""
import time

import lsw.audit as audit
import lsw.retrain as retrain
from lsw.config import RunConfig
from lsw.research.papertable import markdown, run_rows


class Guard:
    """Delegates to a LabeledImages and logs when anything of it is read."""

    def __init__(self, inner, log):
        self._inner, self._log = inner, log

    def __getattr__(self, name):
        self._log.append(time.perf_counter())
        return getattr(self._inner, name)

    def __len__(self):
        self._log.append(time.perf_counter())
        return len(self._inner)


def test_test_split_is_read_only_after_training_and_selection(tmp_path, monkeypatch):
    reads, fit_done = [], []
    real_prepare, real_fit = audit.prepare, retrain.fit

    def guarded_prepare(*a, **k):
        problem = real_prepare(*a, **k)
        problem.source.test = Guard(problem.source.test, reads)
        return problem

    def timed_fit(*a, **k):
        model = real_fit(*a, **k)
        fit_done.append(time.perf_counter())
        return model

    monkeypatch.setattr(audit, "prepare", guarded_prepare)
    monkeypatch.setattr(retrain, "fit", timed_fit)
    base = RunConfig(data="digits", model="tinynet", epochs=4, retrain_epochs=3, batch_size=128, device="cpu")
    table = run_rows(base, ["symmetric 0.4"], tmp_path)
    assert reads, "the final evaluation never read the test split"
    assert len(fit_done) == 1 and min(reads) > fit_done[0], "the test split was read before training ended"
    row = table["rows"][0]
    assert row["acc"] is not None and row["paper_f1"] == 92.84 and 0 <= row["f1"] <= 100
    md = markdown(table)
    assert "| symmetric 0.4 |" in md and "92.84" in md
