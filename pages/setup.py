"""Setup: choose the data, the noise for evaluation, the clean set and the training knobs; start, stop, resume."""
from __future__ import annotations

import streamlit as st

from app import state
from app.progress import job_panel
from lsw.config import METAS, RunConfig
from lsw.data import builtin_sources
from lsw.device_data import resolve_device
from lsw.errors import LswError
from lsw.models import MODELS
from lsw.scoring import SCORES

st.title("Setup")
st.write("Point the audit at a labeled image set and a few samples you trust. LSW learns a weight "
         "**alpha** per sample (higher alpha = trusted); samples whose flag score (trust by default) is under the "
         "threshold are flagged for review.")

defaults = RunConfig()
builtins = builtin_sources()
ss = st.session_state
ss.setdefault("setup_kind", builtins[0])
ss.setdefault("setup_path", "")
ss.setdefault("setup_noise_type", "symmetric")
ss.setdefault("setup_noise_rate", 0.3)
ss.setdefault("setup_meta", defaults.meta)
ss.setdefault("setup_score", defaults.score)

left, right = st.columns(2)
with left:
    st.subheader("Data")
    kinds = builtins + ["folder", "csv"]
    kind = st.selectbox("Source", kinds, key="setup_kind",
                        format_func=lambda k: {"folder": "Image folder (one sub-folder per class)",
                                               "csv": "CSV manifest (path,label[,trusted,true_label])"}.get(k, k))
    if kind in ("folder", "csv"):
        st.text_input("Path on the server", key="setup_path", placeholder="/data/my-images")
    noise_type = st.selectbox("Synthetic noise for evaluation", ["none", "symmetric", "asymmetric", "instance"],
                              key="setup_noise_type",
                              help="Flip a known share of labels to measure how well wrong labels are found.")
    noise_rate = st.slider("Noise rate", 0.0, 0.9, key="setup_noise_rate", step=0.05,
                           disabled=noise_type == "none")
    noise_seed = st.number_input("Noise seed", 0, 10_000, 0, key="setup_noise_seed")
    st.subheader("Clean set")
    clean_mode = st.radio("Trusted samples", ["per class", "fraction"], horizontal=True, key="setup_clean_mode",
                          help="Rows marked trusted in a CSV manifest are used when present.")
    if clean_mode == "per class":
        clean_per_class = st.number_input("Clean samples per class", 1, 10_000, 10, key="setup_cpc")
        clean_frac = defaults.clean_frac
    else:
        clean_frac = st.slider("Clean fraction of each class", 0.01, 0.5, 0.1, key="setup_frac")
        clean_per_class = None
with right:
    st.subheader("Training")
    model = st.selectbox("Model", ["auto", *MODELS], key="setup_model",
                         help="auto: tinynet for small grey images, else fastcnn on a GPU and smallcnn on a CPU.")
    c1, c2 = st.columns(2)
    epochs = c1.number_input("Epochs", 1, 500, defaults.epochs, key="setup_epochs")
    batch = c2.number_input("Batch size", 8, 4096, defaults.batch_size, key="setup_batch")
    lr = c1.number_input("Learning rate", 1e-5, 5.0, defaults.lr, format="%.4f", key="setup_lr")
    start_epoch = c2.number_input("Start epoch (alpha learned from)", 0, 100, defaults.start_epoch, key="setup_start")
    threshold = c1.slider("Flag threshold (score below = flagged)", 0.05, 0.95, defaults.threshold, key="setup_thr")
    retrain_epochs = c2.number_input("Retraining epochs (0 = none)", 0, 500, 0, key="setup_retrain")
    meta = st.selectbox("Meta-gradient", list(METAS), key="setup_meta",
                        format_func={"full": "full: every layer (the paper's Eq. 2)",
                                     "head": "head: last layer only, fused into the step (faster)"}.get,
                        help="head costs a plain step plus a forward pass of the clean batch; full adds a "
                             "clean backward and a forward-mode pass. See the README's Performance section.")
    score = st.selectbox("Flag samples by", list(SCORES), key="setup_score",
                         format_func={"trust": "trust: the LSW model's probability of the given label",
                                      "alpha": "alpha: the learned weight (the paper's rule)"}.get,
                         help="trust separates wrong labels better in our measurements (README, Results).")
    st.info(f"Runs on **{resolve_device('auto')}**")

spec = kind if kind in builtins else f"{kind}:{ss.setup_path.strip()}"
config = RunConfig(data=spec, noise=None if noise_type == "none" else f"{noise_type}:{noise_rate:g}",
                   noise_seed=int(noise_seed), clean_frac=float(clean_frac),
                   clean_per_class=None if clean_per_class is None else int(clean_per_class), model=model,
                   epochs=int(epochs), batch_size=int(batch), lr=float(lr), start_epoch=int(start_epoch),
                   threshold=float(threshold), retrain_epochs=int(retrain_epochs), meta=meta,
                   score=score)

job = state.registry().current()
active = job is not None and job.snapshot().active
b1, b2, b3 = st.columns(3)
if b1.button("Start training", type="primary", disabled=active, width="stretch"):
    try:
        if kind in ("folder", "csv") and not ss.setup_path.strip():
            raise LswError(f"enter the path of the {kind} to audit")
        from lsw.prepare import prepare
        from lsw.roots import check_spec, data_roots

        check_spec(spec, data_roots())  # the dashboard opens data only under $LSW_DATA_ROOTS
        prepare(config, source=state.source(spec), progress=False)  # checks the data and split up front
        state.registry().start(config)
        st.rerun()
    except LswError as e:
        st.error(f"Cannot start: {e}")
if b2.button("Stop", disabled=not active, width="stretch"):
    job.stop()
    st.rerun()
latest = state.current_run()
resumable = latest is not None and latest.checkpoint.exists() and latest.summary() is None and not active
if b3.button("Resume latest run", disabled=not resumable, width="stretch",
             help=f"Continue {latest.path.name} from its last epoch" if resumable else "No interrupted run"):
    try:
        from lsw.config import METAS
        from lsw.config import RunConfig as RC

        state.registry().start(RC.from_dict(latest.config()), resume_dir=latest.path)
        st.rerun()
    except LswError as e:
        st.error(f"Cannot resume: {e}")

job_panel()
