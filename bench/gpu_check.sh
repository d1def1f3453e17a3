#!/usr/bin/env bash
# Issues 4 and 7 on a GPU in one call: the step bench, then CIFAR-10 audits with the fused head
# meta-step and the full one, then a short table. Logs and run folders go under OUT.
#
#   mkdir -p .data && cp ../shared/data/cifar10-jpeg.npz .data/      # here, before the device call
#   bash bench/gpu_check.sh "$OUT"                                   # on the device, carry .data
#
# Expected cost on an H100 (estimated from the issue's eager figures, not measured yet): bench about
# 2 minutes, each audit 2 to 4 minutes. Stages run in order of importance; each has its own time limit.
# QUICK=1 runs the same stages at toy sizes on the CPU, to check the script before spending device time.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-runs/gpu}}
data=${CIFAR:-.data/cifar10-jpeg.npz}
mkdir -p "$out"
python -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')" \
  | tee "$out/device.txt"

if [ "${QUICK:-0}" = 1 ]; then
  bench_args=(--models tinynet --batch-sizes 16 --clean-batch-size 16 --steps 2 --warmup 1 --device cpu)
  audit_args=(--model tinynet --max-samples 1000 --epochs 3 --retrain-epochs 1 --device cpu)
else
  bench_args=(--models resnet18,resnet34 --batch-sizes 125,512 --steps 30 --warmup 10)
  audit_args=(--model resnet18 --epochs 30 --retrain-epochs 30)
fi
audit() {  # name, limit in seconds, extra args
  local name=$1 limit=$2; shift 2
  timeout "$limit" python -m lsw run --data "cifar10:$data" --noise instance:0.4 --clean-frac 0.1 \
    --batch-size 512 --retrain-batch-size 512 --retrain filtered "${audit_args[@]}" --out "$out/$name" --force "$@" \
    > "$out/$name.log" 2>&1
}
# A device call may run 600 s: the target-3 audit first, then the step bench, then the full meta-gradient
# for comparison (cut by its limit if slow; its per-epoch figures still print).
audit audit-head 270 --meta head
timeout 120 python -m lsw bench "${bench_args[@]}" > "$out/bench.txt" 2>&1
audit audit-full 150 --meta full

cat "$out/bench.txt"
python - "$out" <<'PY'
import json, sys
from pathlib import Path
for run in ("audit-head", "audit-full"):
    p = Path(sys.argv[1]) / run / "summary.json"
    if not p.exists():
        m = Path(sys.argv[1]) / run / "metrics.jsonl"
        last = json.loads(m.read_text().splitlines()[-1]) if m.exists() and m.read_text().strip() else None
        print(f"{run}: cut short" + ("" if last is None else
              f" after epoch {last['epoch']} ({last['elapsed']:.0f} s): AUC {last.get('auc')}, F1 {last.get('f1')}"))
        continue
    s = json.loads(p.read_text())
    print(f"{run}: {s['seconds']:.0f} s (LSW {s['lsw_seconds']:.0f} s, retrain {s.get('retrain_seconds', 0):.0f} s) "
          f"AUC {s['auc']:.4f} F1 {s['f1']:.4f} retrained test acc {s['retrain_test_acc']}")
PY
