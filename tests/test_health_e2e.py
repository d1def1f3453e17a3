"""A deliberately broken run (a huge learning rate): the health warning reaches the summary, the
monitor and the Review page, and the review cards stop offering the model's guess as the new label."""
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

from lsw.audit import run_audit
from lsw.config import RunConfig

MAIN = str(Path(__file__).resolve().parents[1] / "app" / "main.py")


def test_broken_run_is_reported_everywhere(tmp_path, monkeypatch):
    # lr 50 on digits: measured val loss 2e14 after 3 epochs, validation accuracy 10% (chance)
    cfg = RunConfig(data="digits", noise="symmetric:0.3", clean_per_class=10, epochs=3, lr=50.0, device="cpu")
    s = run_audit(cfg, tmp_path / "runs" / "20260101-000000-broken")
    assert s["health"]["ok"] is False and "diverged" in s["health"]["reason"], s["health"]
    assert "--lr 5" in s["health"]["advice"]
    assert s["n_val"] == 20 and s["val_acc"] is not None

    monkeypatch.setenv("LSW_HOME", str(tmp_path))
    st.cache_resource.clear()
    st.cache_data.clear()
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    at.switch_page("../pages/monitor.py").run()
    assert any("did not learn" in e.value and "diverged" in e.value for e in at.error), [e.value for e in at.error]
    at.switch_page("../pages/review.py").run()
    assert any("did not learn" in e.value for e in at.error), [e.value for e in at.error]
    guesses = [sb for sb in at.selectbox if str(sb.key).startswith("new-")]
    assert guesses and all(sb.value is None for sb in guesses)
    st.cache_resource.clear()
