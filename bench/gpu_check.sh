#!/usr/bin/env bash
# Issue 11 on a GPU in one device call: the CIFAR-10 instance-0.4 audit, LSW against small-loss on the
# CIFAR-10N human labels, then the step bench; a short table last. Logs and run folders go under OUT.
#
#   mkdir -p .data && cp ../shared/data/*.npz .data/        # here, before the device call
#   bash bench/gpu_check.sh "$OUT"                          # on the device, carry .data
#
# Stages run in order of importance, each under its own time limit; a stage cut short still reports
# the epochs it finished. QUICK=1 runs the same stages at toy sizes on the CPU, to check the script
# before spending device time.
source "$(dirname "$0")/gpu_env.sh" "$@"
python -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')" \
  | tee "$out/device.txt"

if [ "${QUICK:-0}" = 1 ]; then
  bench_args=(--models tinynet --batch-sizes 16 --clean-batch-size 16 --steps 2 --warmup 1 --device cpu)
  common=(--model tinynet --max-samples 1000 --device cpu)
  audit_args=(--epochs 3 --retrain-epochs 1)
  human_args=(--epochs 3)
  limits=(300 300 120)
else
  bench_args=(--models resnet18,resnet34 --batch-sizes 125,512 --steps 30 --warmup 10)
  common=(--model resnet18)
  audit_args=(--epochs 30 --retrain-epochs 30)
  human_args=(--epochs 20)
  limits=(220 150 80)
fi
# 1. The audit of target 1: instance noise 0.4, 10% clean, head meta-gradient, trust score, retraining.
timeout "${limits[0]}" python -m lsw run --data "cifar10:$data" --noise instance:0.4 --clean-frac 0.1 \
  --batch-size 512 --retrain-batch-size 512 --retrain filtered --meta head "${common[@]}" "${audit_args[@]}" \
  --out "$out/audit-head" --force > "$out/audit-head.log" 2>&1
# 2. Real human noise: the CIFAR-10N labels, 10% clean, LSW and small-loss on the same split.
timeout "${limits[1]}" python -m lsw compare --data "cifar10:$data" --labels "$human" --clean-frac 0.1 \
  --batch-size 512 --methods lsw,small-loss "${common[@]}" "${human_args[@]}" \
  --out "$out/human" > "$out/human.log" 2>&1
# 3. The step bench: plain, head and full steps side by side, with peak memory.
timeout "${limits[2]}" python -m lsw bench "${bench_args[@]}" > "$out/bench.txt" 2>&1

echo "== bench"; tail -n 20 "$out/bench.txt"
echo "== human noise (CIFAR-10N random1)"; tail -n 6 "$out/human.log"
python - "$out" <<'PY'
import json, sys
from pathlib import Path
for run in ("audit-head", "human/lsw", "human/small-loss"):
    p = Path(sys.argv[1]) / run / "summary.json"
    m = Path(sys.argv[1]) / run / "metrics.jsonl"
    last = json.loads(m.read_text().splitlines()[-1]) if m.exists() and m.read_text().strip() else None
    if not p.exists():
        print(f"{run}: cut short" + ("" if last is None else
              f" after epoch {last['epoch']} ({last['elapsed']:.0f} s): AUC {last.get('auc')}, F1 {last.get('f1')}"))
        continue
    s = json.loads(p.read_text())
    print(f"{run}: {s['seconds']:.0f} s (LSW {s['lsw_seconds']:.0f} s, retrain {s.get('retrain_seconds', 0):.0f} s) "
          f"AUC {s.get('auc')} F1 {s.get('f1')} retrained test acc {s.get('retrain_test_acc')} "
          f"test acc {s.get('test_acc')} val acc {None if last is None else last.get('val_acc')}")
PY
