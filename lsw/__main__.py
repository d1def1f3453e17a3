"""`python -m lsw`: the CLI (`lsw.cli`), also what the dashboard's job and torchrun's workers run.

Before torch loads its OpenMP runtime: idle OpenMP threads spin for 100,000 turns, not libgomp's default
300,000 (a user's GOMP_SPINCOUNT or OMP_WAIT_POLICY wins). Spinning threads collapse on a shared machine.
Digits, 10 epochs, training seconds on 2 idle cores / with two busy processes beside it: default 2.45 /
44.8, GOMP_SPINCOUNT=100000 1.90 / 6.2, OMP_WAIT_POLICY=PASSIVE 4.73 / 6.2 (`GOMP_SPINCOUNT=N python -m lsw
run --data digits --noise symmetric:0.3 --clean-per-class 10 --epochs 10 --device cpu`).
"""
import os
import sys

if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "100000")

from lsw.cli import main  # noqa: E402 - after the OpenMP setting

sys.exit(main())
