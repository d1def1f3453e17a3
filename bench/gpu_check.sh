#!/usr/bin/env bash
# Issues 4 and 7 on a GPU in one call: the step bench, then CIFAR-10 audits with the fused head
# meta-step and the full one, then a short table. Logs and run folders go under OUT.
#
#   mkdir -p .data && cp ../shared/data/cifar10-jpeg.npz .data/      # here, before the device call
#   bash bench/gpu_check.sh "$OUT"                                   # on the device, carry .data
#
# Expected cost on an H100 (estimated from the issue's eager figures, not measured yet): bench about
# 2 minutes, each audit 2 to 4 minutes. Stages run in order of importance; each has its own time limit.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-runs/gpu}}
data=${CIFAR:-.data/cifar10-jpeg.npz}
mkdir -p "$out"
python -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))" | tee "$out/device.txt"

timeout 240 python -m lsw bench --models resnet18,resnet34 --batch-sizes 125,512 --steps 30 --warmup 10 \
  > "$out/bench.txt" 2>&1

audit() {  # name, limit in seconds, extra args
  local name=$1 limit=$2; shift 2
  timeout "$limit" python -m lsw run --data "cifar10:$data" --noise instance:0.4 --clean-frac 0.1 --model resnet18 \
    --batch-size 512 --epochs 30 --retrain-epochs 30 --retrain-batch-size 512 --retrain filtered --out "$out/$name" --force "$@" \
    > "$out/$name.log" 2>&1
}
audit audit-head 420 --meta head
audit audit-full 420 --meta full

cat "$out/bench.txt"
python - "$out" <<'PY'
import json, sys
from pathlib import Path
for run in ("audit-head", "audit-full"):
    p = Path(sys.argv[1]) / run / "summary.json"
    if not p.exists():
        print(f"{run}: no summary (see {run}.log)")
        continue
    s = json.loads(p.read_text())
    print(f"{run}: {s['seconds']:.0f} s (LSW {s['lsw_seconds']:.0f} s, retrain {s.get('retrain_seconds', 0):.0f} s) "
          f"AUC {s['auc']:.4f} F1 {s['f1']:.4f} retrained test acc {s['retrain_test_acc']}")
PY
