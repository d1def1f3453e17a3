#!/usr/bin/env bash
# Issues 18 and 14 on a GPU in one device call, on CIFAR-10 with the CIFAR-10N random1 human labels:
# 1. LSW (head) against small-loss, 30 epochs, 10% trusted, the full 50,000 images;
# 2. the audit loop with a simulated reviewer (verify 10 per class, review 300, round 2);
# 3. LSW with the full meta-gradient, same split.
# Each run's per-epoch losses and alphas come back packed (one .tgz a stage) for offline score analysis.
#
#   mkdir -p .data && cp ../shared/data/*.npz .data/        # here, before the device call
#   bash bench/gpu_human.sh /tmp/gh                          # on the device, carry .data
#
# The runs go under the folder given (first argument); the packed stages and the logs are copied to $OUT
# when it is set (a device call brings back 8 files at most).
#
# QUICK=1 runs the same stages at toy sizes on the CPU, to check the script before spending device time.
source "$(dirname "$0")/gpu_env.sh" "$@"
export PYTHONUNBUFFERED=1
python -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')"
if [ "${QUICK:-0}" = 1 ]; then
  common=(--model smallcnn --max-samples 1500 --device cpu --batch-size 128); e=3; ef=2; le=2; limits=(300 400 200)
else
  common=(--model resnet18 --batch-size 512); e=30; ef=25; le=20; limits=(200 170 160)
fi
cmp() { local name=$1 limit=$2; shift 2
  timeout "$limit" python -m lsw compare --data "cifar10:$data" --labels "$human" --clean-frac 0.1 \
    "${common[@]}" --out "$out/$name" "$@" > "$out/$name.log" 2>&1; echo "$name rc $?"; }
cmp human "${limits[0]}" --methods lsw,small-loss --epochs "$e"
timeout "${limits[1]}" python bench/audit_loop.py --cases cifar10n --cifar "$data" --human "$human" \
  "${common[@]}" --epochs "$le" --out "$out/loop" > "$out/loop.log" 2>&1; echo "loop rc $?"
cmp full "${limits[2]}" --methods lsw --meta full --epochs "$ef"
python - "$out" <<'PY'  # each run's per-epoch losses and alphas (float16) with its truth, one file a run
import sys, tarfile
from pathlib import Path
import numpy as np
out = Path(sys.argv[1])
for run in ("human/lsw", "human/small-loss", "full/lsw", "loop/cifar10n/r1-lsw", "loop/cifar10n/r2-lsw"):
    d = out / run
    if not (d / "loss.npy").exists():
        continue
    s = np.load(d / "samples.npz")
    idx = s["noisy_index"]
    extra = {k: (d / f).read_text() for k, f in (("metrics", "metrics.jsonl"), ("summary", "summary.json"),
                                                   ("config", "config.json")) if (d / f).exists()}
    arrays = {k: np.load(d / f"{k}.npy").astype(np.float16) for k in ("loss", "alpha") if (d / f"{k}.npy").exists()}
    np.savez_compressed(out / (run.replace("/", "_") + ".npz"), **arrays, ids=s["ids"][idx],
                        is_noisy=s["true_labels"][idx] != s["labels"][idx], **extra)
with tarfile.open(out / "logs.tgz", "w:gz") as t:
    for f in sorted(out.glob("*.log")) + sorted(out.glob("*/compare.json")) + sorted(out.glob("loop/*/*.json")):
        t.add(f, arcname=str(f.relative_to(out)))
PY
ls -la "$out"
[ -n "${OUT:-}" ] && [ "$OUT" != "$out" ] && cp "$out"/*.npz "$out"/logs.tgz "$OUT"/
echo "== loop"; tail -n 12 "$out/loop.log"
python - "$out" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
for run in ("human/lsw", "human/small-loss", "full/lsw"):
    m = out / run / "metrics.jsonl"
    rows = [json.loads(x) for x in m.read_text().splitlines()] if m.exists() else []
    aucs = " ".join(f"{r.get('auc') or 0:.3f}" for r in rows)
    s = out / run / "summary.json"
    s = json.loads(s.read_text()) if s.exists() else {}
    print(f"{run}: {s.get('seconds', 'cut short')} s AUC {s.get('auc')} F1 {s.get('f1')} test {s.get('test_acc')}; "
          f"per-epoch AUC {aucs}")
for c in ("human", "full"):
    p = out / c / "compare.json"
    if p.exists():
        for r in json.loads(p.read_text())["rows"]:
            print(c, r["method"], "AUC", round(r["auc"], 4), "F1", round(r["f1"], 4), "s", r["seconds"])
PY
