#!/usr/bin/env bash
# Issue 11's follow-up call, after gpu_check.sh: on the CIFAR-10N labels the full meta-gradient and the
# alpha score against the first call's head/trust run; the instance-0.4 retraining ceiling (retrain on the
# truly clean samples); symmetric 0.4. Per-epoch AUCs are printed from metrics.jsonl. QUICK=1: CPU toy sizes.
source "$(dirname "$0")/gpu_env.sh" "$@"
if [ "${QUICK:-0}" = 1 ]; then
  common=(--model tinynet --max-samples 1000 --device cpu); e=2; r=1; limits=(200 200 200 200)
else
  common=(--model resnet18); e=20; r=30; limits=(120 50 60 100)
fi
cmp() { local name=$1 limit=$2; shift 2
  timeout "$limit" python -m lsw compare --data "cifar10:$data" --labels "$human" --clean-frac 0.1 --batch-size 512 \
    --methods lsw --epochs "$e" "${common[@]}" --out "$out/$name" "$@" > "$out/$name.log" 2>&1; }
aud() { local name=$1 limit=$2; shift 2
  timeout "$limit" python -m lsw run --data "cifar10:$data" --clean-frac 0.1 --batch-size 512 --retrain-batch-size 512 \
    "${common[@]}" --out "$out/$name" --force "$@" > "$out/$name.log" 2>&1; }
cmp human-full "${limits[0]}" --meta full
cmp human-alpha "${limits[1]}" --score alpha
aud upper-bound "${limits[2]}" --noise instance:0.4 --epochs 2 --retrain upper-bound --retrain-epochs "$r"
aud symmetric "${limits[3]}" --noise symmetric:0.4 --epochs 30 --retrain filtered --retrain-epochs "$r"
python - "$out" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
for run in ("human-full/lsw", "human-alpha/lsw", "upper-bound", "symmetric"):
    m = out / run / "metrics.jsonl"
    rows = [json.loads(x) for x in m.read_text().splitlines()] if m.exists() else []
    aucs = " ".join(f"{r.get('auc', 0):.3f}" for r in rows)
    s = out / run / "summary.json"
    s = json.loads(s.read_text()) if s.exists() else {}
    print(f"{run}: {s.get('seconds', 'cut short')} s AUC {s.get('auc')} F1 {s.get('f1')} test {s.get('test_acc')} "
          f"retrained {s.get('retrain_test_acc')} (n {s.get('retrain_n_train')}); per-epoch AUC {aucs}")
PY
