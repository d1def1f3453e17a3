"""Does a third network, averaged with the run's two, rank the wrong labels better?

    python bench/third_network.py RUN

RUN: a finished LSW run with a second pass (e.g. `DIR/lsw` of `python -m lsw compare ... --out DIR`). A third
network of the second pass's kind (`lsw.second_pass`, every setting of the run) is trained on the 90% of D^n
that the run's final trust ranks highest, with another seed, on the run's own split. Prints the AUC of each
network's trust alone (the LSW network, the second, the third) and of their means. Runs on the CPU.
"""
import dataclasses
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.saved_run import finished_trust, open_run  # noqa: E402
from lsw.fold_reading import reads_first  # noqa: E402
from lsw.second_pass import second_pass  # noqa: E402


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    run, cfg, p, data = open_run(sys.argv[1])
    first, final, had_second_pass = finished_trust(run, cfg)
    if not had_second_pass:
        sys.exit(f"{run.path}: no second pass ({cfg.epochs} epochs and no record after them)")
    if reads_first(cfg):
        sys.exit(f"{run.path}: its final trust holds the first network's fold reading, not its trust: the networks "
                 "cannot be read apart from it")
    second = 2 * final - first
    extra = second_pass(dataclasses.replace(cfg, seed=cfg.seed + 7), p, data, final.astype(np.float32))
    third = 2 * extra.trust.astype(np.float64) - final

    def auc(x: np.ndarray) -> str:
        return f"{roc_auc_score(p.is_noisy, -x):.4f}"

    print(f"{run.path}: {len(first)} audited, {p.is_noisy.mean():.1%} wrong; the third network took "
          f"{extra.seconds:.0f} s")
    print(f"  alone: LSW {auc(first)}, second {auc(second)}, third {auc(third)}")
    print(f"  means: LSW + second (the run) {auc(final)}, all three {auc((first + second + third) / 3)}, "
          f"second + third {auc((second + third) / 2)}")


if __name__ == "__main__":
    main()
