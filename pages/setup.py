"""Setup: what an annotator needs first (the data, the trusted set, how long to train); the rest of the
knobs, with their defaults, under Advanced. Start, stop, resume."""
from __future__ import annotations

import streamlit as st

from app import state, verify
from app.progress import job_panel
from app.setup_fields import BOUNDS, CHOICES, NOISE_TYPES, USER_DATA, setup_from_run
from lsw.config import METAS, RunConfig
from lsw.data import builtin_sources
from lsw.device_data import resolve_device
from lsw.errors import LswError
from lsw.processjob import gpu_count
from lsw.scoring import SCORES

st.title("Setup")
st.write("Point the audit at a labeled image set and a few samples you trust. LSW learns a weight "
         "**alpha** per sample (higher alpha = trusted); samples whose flag score (trust by default) is under the "
         "threshold are flagged for review.")

defaults = RunConfig()
builtins = builtin_sources()
ss = st.session_state
run = state.current_run()
if "setup_kind" not in ss and run is not None:  # a new session: start from the run shown, not the demo
    ss.update(setup_from_run(run, builtins))
ss.setdefault("setup_kind", builtins[0])
ss.setdefault("setup_path", "")
ss.setdefault("setup_noise_type", "symmetric")  # the built-in sets are demos: evaluate on known noise
ss.setdefault("setup_noise_rate", 0.3)
ss.setdefault("setup_meta", defaults.meta)
ss.setdefault("setup_score", defaults.score)


def source_changed() -> None:
    """Synthetic noise flips the user's own labels: off for a folder or manifest unless asked for again; and
    for the user's own data the trusted set is verified first."""
    ss["setup_noise_type"] = "none" if ss["setup_kind"] in USER_DATA else "symmetric"
    ss["setup_clean_by"] = "verify" if ss["setup_kind"] in USER_DATA else "random"


ss.setdefault("setup_clean_by", "random")
CLEAN_BY = {"verify": "Verify a trusted sample first (recommended)",
            "random": "Draw it at random from the given labels (unverified)"}


left, right = st.columns(2)
with left:
    st.subheader("Data")
    kinds = builtins + list(USER_DATA)
    kind = st.selectbox("Source", kinds, key="setup_kind", on_change=source_changed,
                        format_func=lambda k: {"folder": "Image folder (one sub-folder per class)",
                                               "csv": "CSV manifest (path,label[,trusted,true_label])"}.get(k, k))
    if kind in USER_DATA:
        st.text_input("Path on the server", key="setup_path", placeholder="/data/my-images")
with right:
    st.subheader("Trusted set")
    clean_by = st.radio("Clean set D^c", list(CLEAN_BY), format_func=CLEAN_BY.get, key="setup_clean_by",
                        help="LSW learns its weights from the clean set. Rows marked trusted in a CSV manifest "
                             "are used when present.")
    clean_per_class, clean_frac = None, defaults.clean_frac
    if clean_by == "verify":
        verify_n = st.number_input("Samples to verify per class", *BOUNDS["setup_verify_n"], 10, key="setup_verify_n")
    else:
        clean_mode = st.radio("Trusted samples", ["per class", "fraction"], horizontal=True, key="setup_clean_mode")
        if clean_mode == "per class":
            clean_per_class = st.number_input("Trusted samples per class", *BOUNDS["setup_cpc"], 10, key="setup_cpc")
        else:
            clean_frac = st.slider("Trusted fraction of each class", *BOUNDS["setup_frac"], 0.1, key="setup_frac")
    epochs = st.number_input("Epochs", *BOUNDS["setup_epochs"], defaults.epochs, key="setup_epochs",
                             help="How long to train before the samples are scored; more epochs, better scores.")

with st.expander("Advanced: model, learning rate, meta-gradient, flag score, synthetic noise"):
    a1, a2, a3 = st.columns(3)
    model = a1.selectbox("Model", CHOICES["setup_model"], key="setup_model",
                         help="auto: tinynet for small grey images, else fastcnn on a GPU and smallcnn on a CPU.")
    batch = a2.number_input("Batch size", *BOUNDS["setup_batch"], defaults.batch_size, key="setup_batch")
    lr = a3.number_input("Learning rate", *BOUNDS["setup_lr"], defaults.lr, format="%.4f", key="setup_lr")
    start_epoch = a1.number_input("Start epoch (alpha learned from)", *BOUNDS["setup_start"], defaults.start_epoch,
                                  key="setup_start", help=f"Plain epochs before the weights are learned; they also "
                                  f"wait for {defaults.start_steps} training steps in all (at most half the run), so "
                                  "that on a small collection the model tells classes apart first")
    threshold = a2.slider("Flag threshold (score below = flagged)", *BOUNDS["setup_thr"], defaults.threshold,
                          key="setup_thr")
    retrain_epochs = a3.number_input("Retraining epochs (0 = none)", *BOUNDS["setup_retrain"], 0, key="setup_retrain")
    second = a3.slider("Second pass: share of the most trusted samples it trains on (0 = none)",
                       *BOUNDS["setup_second_pass"], defaults.second_pass, step=0.05, key="setup_second_pass",
                       help="After training, a fresh network learns from the samples the run trusts most and "
                            "scores every sample again; the final trust averages both networks' readings, each "
                            "taken by copies fine-tuned without a share of the samples. On the CPU it takes about "
                            "as long as the training before it (1,000 photos: 98 s of 157 s).")
    meta = a1.selectbox("Meta-gradient", list(METAS), key="setup_meta",
                        format_func={"full": "full: every layer (the paper's Eq. 2)",
                                     "head": "head: last layer only, fused into the step (faster)"}.get,
                        help="head costs a plain step plus a forward pass of the clean batch; full adds a "
                             "clean backward and a forward-mode pass. See the README's Performance section.")
    score = a2.selectbox("Flag samples by", list(SCORES), key="setup_score",
                         format_func={"trust": "trust: how strongly the LSW model holds to the given label",
                                      "alpha": "alpha: the learned weight (the paper's rule)"}.get,
                         help="trust separates wrong labels better in our measurements (README, Results).")
    noise_type = a3.selectbox("Synthetic noise for evaluation", NOISE_TYPES,
                              key="setup_noise_type",
                              help="Flip a known share of labels to measure how well wrong labels are found. "
                                   "Off for your own data unless you ask for it.")
    noise_rate = a1.slider("Noise rate", *BOUNDS["setup_noise_rate"], key="setup_noise_rate", step=0.05,
                           disabled=noise_type == "none")
    noise_seed = a2.number_input("Noise seed", *BOUNDS["setup_noise_seed"], 0, key="setup_noise_seed")
    image_size = a3.number_input("Training image size (px)", *BOUNDS["setup_image_size"], 32, key="setup_image_size",
                                 help="Every photo is centre-cropped to this square once, into a cache on disk; "
                                      "smaller images keep their size. 32 suits the default models.")
    a3.info(f"Runs on **{resolve_device('auto')}**")
    gpus = gpu_count()
    all_gpus = gpus > 1 and a3.checkbox(f"Use all {gpus} GPUs", key="setup_all_gpus",
                                        help="Train data-parallel, one process a GPU, through torchrun: the same "
                                             "global batch and learning rate, the same run folder.")

noise = None if noise_type == "none" else f"{noise_type}:{noise_rate:g}"
if noise is not None:
    st.warning(f"Synthetic noise **{noise}** is on: {noise_rate:.0%} of the audited labels will be flipped on "
               "purpose to measure detection (see Advanced). The export keeps the source's own labels as "
               "original_label.", icon=":material/science:")
spec = kind if kind in builtins else f"{kind}:{ss.setup_path.strip()}"
if clean_by == "random" and noise is None:
    st.warning("**The clean set will be taken from unverified labels**: it is drawn at random from the data's own "
               "labels, which no one has checked, and wrong labels there steer the learned weights. Choose "
               "*Verify a trusted sample first* under Trusted set, unless the source marks trusted rows.",
               icon=":material/gpp_maybe:")
elif clean_by == "random":
    st.caption("With synthetic noise the clean rows keep their true labels, so the evaluation is sound.")
config = RunConfig(data=spec, noise=noise, noise_seed=int(noise_seed), clean_frac=float(clean_frac),
                   clean_per_class=None if clean_per_class is None else int(clean_per_class), model=model,
                   epochs=int(epochs), batch_size=int(batch), lr=float(lr), start_epoch=int(start_epoch),
                   threshold=float(threshold), retrain_epochs=int(retrain_epochs), meta=meta, score=score,
                   image_size=int(image_size), second_pass=float(second))

job = state.registry().current()
active = job is not None and job.snapshot().active
b1, b2, b3 = st.columns(3)
if b1.button("Start training", type="primary", disabled=active, width="stretch"):
    try:
        if kind in USER_DATA and not ss.setup_path.strip():
            raise LswError(f"enter the path of the {kind} to audit")
        from lsw.roots import check_spec, data_roots

        check_spec(spec, data_roots())  # the dashboard opens data only under $LSW_DATA_ROOTS
        if clean_by == "verify":
            config.trusted = verify.trusted_file(spec, int(verify_n), config.seed)
        # the job loads and checks the data, with its progress shown below
        state.registry().start(config, procs=gpus if all_gpus else 1)
        st.rerun()
    except LswError as e:
        st.error(f"Cannot start: {e}")
if b2.button("Stop", disabled=not active, width="stretch"):
    job.stop()
    st.rerun()
resumable = run is not None and run.resumable() and not active
if b3.button("Resume", disabled=not resumable, width="stretch",
             help=f"Continue {run.run_id} from its last epoch" if resumable else "No stopped or interrupted run shown"):
    try:
        state.registry().start(RunConfig.from_dict(run.config()), resume_dir=run.path)
        st.rerun()
    except LswError as e:
        st.error(f"Cannot resume: {e}")

job_panel()

if clean_by == "verify":
    st.subheader("Verify a trusted sample")
    st.write("Confirm each image's class, or pick its right one. The verified samples become the clean set, "
             "with the classes you give them, and are recorded in the review log like any decision.")
    if kind in USER_DATA and not ss.setup_path.strip():
        st.info(f"Enter the path of the {kind} above to draw the sample.")
    else:
        try:
            from lsw.roots import check_spec, data_roots

            check_spec(spec, data_roots())
            verify.panel(spec, int(verify_n), defaults.seed)
        except LswError as e:
            st.error(f"Cannot draw the sample: {e}")
