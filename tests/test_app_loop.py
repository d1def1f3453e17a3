"""The audit loop in the dashboard (AppTest): verify a trusted sample first, then review, then the next round."""

import numpy as np
from streamlit.testing.v1 import AppTest

from tests.test_app import MAIN, app, run_short_job, wait_for_job  # noqa: F401 - the fixture and helpers are shared


def _name(at, name="ann"):
    at.sidebar.text_input[0].set_value(name).run()
    return at


def _start(at):
    next(b for b in at.button if b.label == "Start training").click().run()
    return at


def test_setup_warns_when_the_clean_set_is_unverified(app):  # noqa: F811
    app.selectbox(key="setup_noise_type").set_value("none").run()
    assert any("unverified labels" in w.value for w in app.warning)
    app.radio(key="setup_clean_by").set_value("verify").run()
    assert not any("unverified labels" in w.value for w in app.warning)


def test_verify_first_makes_the_clean_set_with_the_corrected_labels(app):  # noqa: F811
    from app import state

    at = _name(app)
    at.number_input(key="setup_epochs").set_value(2).run()
    at.radio(key="setup_clean_by").set_value("verify").run()
    at.number_input(key="setup_verify_n").set_value(4).run()  # 10 classes x 4 = 40: one page
    boxes = [s for s in at.selectbox if (s.key or "").startswith("vfy-")]
    assert len(boxes) == 40
    _start(at)  # nothing verified yet: refused, with the reason
    assert any("no verified sample" in e.value for e in at.error)
    first = boxes[0]
    sid, given = first.key.removeprefix("vfy-"), first.value
    other = next(c for c in first.options if c != given)
    first.set_value(other).run()
    # the box is too narrow for a long class name: the line under the tile says it in full
    assert f"{given} → **{other}**, not yet confirmed" in [c.value for c in at.caption]
    next(b for b in at.button if b.key == "vfy_confirm").click().run()
    assert not at.exception
    captions = [c.value for c in at.caption]
    assert f"{given} → {other}, verified" in captions and sum(c.startswith("✓ ") for c in captions) == 39
    src = state.source("digits")
    final = state.store().final_states(src.fingerprint)
    assert len(final) == 40 and final[sid].action == "relabel" and final[sid].new_label == other
    assert sum(d.action == "correct" for d in final.values()) == 39
    _start(at)
    assert not at.error, [e.value for e in at.error]
    wait_for_job(at)
    run = state.current_run()
    cfg, s = run.config(), run.samples()
    assert cfg["clean_set"] == "verified" and cfg["trusted"]
    trusted = np.concatenate([s["clean_index"], s["val_index"]])
    assert set(s["ids"][trusted]) == set(final)
    row = list(s["ids"]).index(sid)
    assert s["classes"][s["labels"][row]] == other
    # a new session (a reload, a restarted dashboard) opens Setup on this run's settings, not the demo's
    fresh = AppTest.from_file(MAIN, default_timeout=60).run()
    assert not fresh.exception
    assert fresh.radio(key="setup_clean_by").value == "verify"
    assert fresh.number_input(key="setup_verify_n").value == 4 and fresh.number_input(key="setup_epochs").value == 2
    assert fresh.selectbox(key="setup_noise_type").value == (cfg["noise"] or "none").partition(":")[0]


def test_verify_caption_says_what_is_recorded_and_what_is_pending():
    from app.verify import caption
    from lsw.store import Decision

    def d(action, new=None):
        return Decision(id=1, dataset="x", sample_id="a", reviewer="ann", ts="2026-12-06T00:00:00Z", action=action,
                        old_label="cat", new_label=new, alpha=None, loss=None, run_id=None, undoes=None)

    assert caption("cat", None, "cat") == "given cat"
    assert caption("cat", None, "dog") == "cat → **dog**, not yet confirmed"
    assert caption("cat", d("correct"), "cat") == "✓ cat, verified"
    assert caption("cat", d("relabel", "dog"), "dog") == "cat → dog, verified"
    assert caption("cat", d("relabel", "dog"), "cat") == "**cat**, not yet confirmed"
    assert caption("cat", d("exclude"), "cat") == "given cat"


def test_keyboard_review_focused_mode_and_next_round(app):  # noqa: F811
    from app import state

    at = run_short_job(app, epochs=3)
    at.switch_page("../pages/review.py").run()
    assert not at.exception
    # focused mode: one sample, the model's label preselected; every decision serves the next sample
    at.toggle(key="focus_mode").set_value(True).run()
    # the evidence: the finished model's top 3 classes and the 3 nearest trusted samples, with their labels
    shown = " ".join(m.value for m in at.markdown)
    assert "Model's top 3:" in shown and "Nearest trusted samples" in shown
    assert sum("trusted: **" in c.value for c in at.caption) == 3
    seen = []
    for k in range(10):
        sid = at.session_state["focus_sid"]
        assert sid not in seen
        seen.append(sid)
        action = ["correct", "exclude", "relabel", "ambiguous"][k % 4]
        if action == "relabel":
            box = at.selectbox(key=f"focus-new-{sid}")
            box.set_value(box.options[0]).run()
        btn = next(b for b in at.button if b.key == f"focus-{action}")
        assert btn.proto.shortcut, action  # every card action has a keyboard shortcut
        btn.click().run()
        assert not at.exception
    run = state.current_run()
    fp = run.config()["fingerprint"]
    log = state.store().decisions(fp)
    assert [d.sample_id for d in log] == seen and {d.action for d in log} == {"correct", "exclude", "relabel",
                                                                                "ambiguous"}
    undo = next(b for b in at.button if b.key == "undo")
    assert undo.proto.shortcut
    undo.click().run()
    assert len(state.store().final_states(fp)) == 9
    at.toggle(key="focus_mode").set_value(False).run()
    # the queue's precision: 5 of the 9 reviewed were relabelled or excluded (the 10th was undone)
    assert any("precision" in (m.label or "").lower() for m in at.metric)
    # the threshold moves the queue on the page; the run keeps its own
    flagged_before = int(run.sample_table().flagged.sum())
    at.slider(key="review_thr").set_value(0.9).run()
    assert run.config()["threshold"] == 0.3
    assert f"{flagged_before:,}" not in " ".join(m.value for m in at.metric if "Flagged" in m.label)
    at.switch_page("../pages/export.py").run()  # the export follows the page's threshold
    assert any("threshold 0.90" in i.value for i in at.info), [i.value for i in at.info]
    at.switch_page("../pages/review.py").run()
    assert at.slider(key="review_thr").value == 0.9
    # next round
    next(b for b in at.button if b.key == "next_round").click().run()
    assert not at.error, [e.value for e in at.error]
    # until its first epoch the page says the new round is training (not "start a run"), and where round 1 is
    waiting = " ".join(i.value for i in at.info)
    assert "(round 2) is training" in waiting and "Run shown" in waiting, waiting
    wait_for_job(at)
    new = state.current_run()
    cfg = new.config()
    assert cfg["parent_run"] == str(run.path.resolve()) and cfg["round"] == 2
    s = new.samples()
    trusted = set(s["ids"][np.concatenate([s["clean_index"], s["val_index"]])])
    final = state.store().final_states(fp)
    kept = {sid for sid, d in final.items() if d.action in ("correct", "relabel")}
    audited = set(s["ids"][s["noisy_index"]])
    before = run.samples()
    assert trusted == set(before["ids"][np.concatenate([before["clean_index"], before["val_index"]])])
    assert kept <= audited  # the queue's reviews stay in D^n, trained on with the reviewers' labels
    position = {str(x): k for k, x in enumerate(s["ids"])}
    for sid, d in final.items():
        if d.action == "relabel":
            assert s["classes"][s["labels"][position[sid]]] == d.new_label
    assert not {sid for sid, d in final.items() if d.action == "exclude"} & (audited | trusted)
    at.switch_page("../pages/monitor.py").run()
    assert not at.exception
    rounds = [d for d in at.dataframe if "round" in d.value.columns]
    assert rounds and rounds[0].value["round"].tolist() == [1, 2]
    assert all(0.5 < float(v) <= 1 for v in rounds[0].value["AUC"])  # synthetic noise: the truth is known


def test_focused_mode_zooms_to_the_original_file(app, tmp_path):  # noqa: F811
    from PIL import Image

    from lsw.audit import run_audit
    from lsw.config import RunConfig

    rng = np.random.default_rng(0)
    photos = tmp_path / "photos"
    for name in ["cat", "dog"]:
        (photos / name).mkdir(parents=True)
    for k, name in enumerate(["cat", "dog"]):
        for i in range(30):
            pixels = np.clip(rng.normal(60 + 120 * k, 40, (90, 120, 3)), 0, 255).astype(np.uint8)
            wrong = i >= 25  # 5 photos of each class filed under the other
            Image.fromarray(pixels).save(photos / ["cat", "dog"][k ^ wrong] / f"{name}{i:02d}.jpg")
    run_audit(RunConfig(data=f"folder:{photos}", clean_per_class=5, epochs=2, device="cpu", image_size=16),
              tmp_path / "runs" / "20000101-000000-zm0000")
    at = _name(app)
    at.switch_page("../pages/review.py").run()
    at.slider(key="review_thr").set_value(0.99).run()  # a 2-epoch model flags little: queue everything
    at.toggle(key="focus_mode").set_value(True).run()
    zoom = next(b for b in at.button if b.key == "focus-zoom")
    assert zoom.proto.shortcut  # Z, listed with the other keys
    zoom.click().run()
    assert not at.exception
    sid = at.session_state["focus_sid"]
    full = [i for i in at.get("image") if f'caption: "{sid} at full resolution"' in str(i.proto)]
    assert len(full) == 1, "no full-resolution image of the sample after Zoom"
