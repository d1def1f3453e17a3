#!/usr/bin/env bash
# Issues 18 and 14 on a GPU in one device call, on CIFAR-10 with the CIFAR-10N random1 human labels:
# 1. LSW (every default) against small-loss and confident learning (issue 18's comparison), 30 epochs, 10%
#    trusted, the full 50,000 images;
# 2. with STAGES="human loop", then the audit loop with a simulated reviewer (verify 10 per class, review 300,
#    round 2); stage 1 alone takes most of one device call's 10 minutes (on one H200 at 2026-11 defaults LSW took
#    57 s and small-loss 52 s; the second passes and confident learning's 4 folds come on top).
# (The full meta-gradient was a third stage until 2026-12-06; on the CPU 5k subset it ranked below the head one,
# 0.8918 against 0.8969 at seed 0, at 1.9x LSW's time, so the device minutes go to confident learning instead.)
# Each run's per-epoch losses, alphas and trust come back packed (one .npz a run, the logs in logs.tgz) for offline
# score analysis.
#
#   mkdir -p .data && cp ../shared/data/*.npz .data/        # here, before the device call
#   pip download --no-deps -d .data/wheels cleanlab==2.9.0 termcolor   # the device has no network
#   bash bench/gpu_human.sh /tmp/gh                          # on the device, carry .data
#
# The runs go under the folder given (first argument); the packed stages and the logs are copied to $OUT
# when it is set (a device call brings back 8 files at most).
#
# QUICK=1 runs the same stages at toy sizes on the CPU, to check the script before spending device time.
source "$(dirname "$0")/gpu_env.sh" "$@"
export PYTHONUNBUFFERED=1
python -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')"
python -c "import cleanlab" 2>/dev/null || python -m pip install -q --no-index --no-deps .data/wheels/*.whl
if [ "${QUICK:-0}" = 1 ]; then
  common=(--model smallcnn --max-samples 1500 --device cpu --batch-size 128); e=3; le=2; limits=(600 400)
else
  common=(--model resnet18 --batch-size 512); e=30; le=20; limits=(560 170)
fi
cmp() { local name=$1 limit=$2; shift 2
  timeout "$limit" python -m lsw compare --data "cifar10:$data" --labels "$human" --clean-frac 0.1 \
    "${common[@]}" --out "$out/$name" "$@" > "$out/$name.log" 2>&1; echo "$name rc $?"; }
stages=${STAGES:-human}
cmp human "${limits[0]}" --methods lsw,small-loss,cleanlab --epochs "$e"
if [[ " $stages " == *" loop "* ]]; then
  timeout "${limits[1]}" python bench/audit_loop.py --cases cifar10n --cifar "$data" --human "$human" \
    "${common[@]}" --epochs "$le" --out "$out/loop" > "$out/loop.log" 2>&1; echo "loop rc $?"
fi
python - "$out" <<'PY'  # each run's per-epoch losses, alphas and trust (float16) with its truth, one file a run
import sys, tarfile
from pathlib import Path
import numpy as np
sys.path.insert(0, ".")
from lsw.rundir import RunDir
out = Path(sys.argv[1])
for run in ("human/lsw", "human/small-loss", "loop/cifar10n/r1-lsw", "loop/cifar10n/r2-lsw"):
    d = out / run
    if not (d / "loss.npy").exists():
        continue
    s = RunDir(d).samples()
    idx = s["noisy_index"]
    extra = {k: (d / f).read_text() for k, f in (("metrics", "metrics.jsonl"), ("summary", "summary.json"),
                                                   ("config", "config.json")) if (d / f).exists()}
    arrays = {k: np.load(d / f"{k}.npy").astype(np.float16) for k in ("loss", "alpha", "trust")
              if (d / f"{k}.npy").exists()}
    np.savez_compressed(out / (run.replace("/", "_") + ".npz"), **arrays, ids=s["ids"][idx],
                        is_noisy=s["true_labels"][idx] != s["given_labels"][idx], **extra)
with tarfile.open(out / "logs.tgz", "w:gz") as t:
    for f in sorted(out.glob("*.log")) + sorted(out.glob("*/compare.json")) + sorted(out.glob("loop/*/*.json")):
        t.add(f, arcname=str(f.relative_to(out)))
PY
ls -la "$out"
[ -n "${OUT:-}" ] && [ "$OUT" != "$out" ] && cp "$out"/*.npz "$out"/logs.tgz "$OUT"/
[ -f "$out/loop.log" ] && { echo "== loop"; tail -n 12 "$out/loop.log"; }
python - "$out" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
for run in ("human/lsw", "human/small-loss"):
    m = out / run / "metrics.jsonl"
    rows = [json.loads(x) for x in m.read_text().splitlines()] if m.exists() else []
    aucs = " ".join(f"{r.get('auc') or 0:.3f}" for r in rows)
    s = out / run / "summary.json"
    s = json.loads(s.read_text()) if s.exists() else {}
    print(f"{run}: {s.get('seconds', 'cut short')} s AUC {s.get('auc')} F1 {s.get('f1')} test {s.get('test_acc')}; "
          f"per-epoch AUC {aucs}")
for c in ("human",):
    p = out / c / "compare.json"
    if p.exists():
        for r in json.loads(p.read_text())["rows"]:
            print(c, r["method"], "AUC", round(r["auc"], 4), "F1", round(r["f1"], 4), "s", r["seconds"])
PY
