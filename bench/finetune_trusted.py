"""Does fine-tuning a trained network on the trusted set D^c sharpen its trust on D^n? (README, Results.)

    python bench/finetune_trusted.py RUN head,all

RUN: a finished run folder with true labels (e.g. `python -m lsw run --method small-loss --data cifar10:PATH
--labels PATH/cifar10n-random1.npz:random_label1 --max-samples 5000 --out RUN`). Prints the AUC of the
run's final network, then after fine-tuning the last layer (head) or the whole network (all) on D^c
(augmented batches of 128, SGD with momentum 0.9) at two learning rates and two lengths.
"""
import copy
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lsw.batches import make_images  # noqa: E402
from lsw.config import RunConfig  # noqa: E402
from lsw.evaluation import evaluate  # noqa: E402
from lsw.loop import build_training  # noqa: E402
from lsw.prepare import prepare  # noqa: E402


def main() -> None:
    run, parts = Path(sys.argv[1]), sys.argv[2].split(",")
    cfg = RunConfig.from_dict(json.loads((run / "config.json").read_text()))
    cfg.device = "cpu"
    p = prepare(cfg, progress=False)
    train = p.source.train
    data = make_images(train.images, torch.device("cpu"), train.hflip, "resident")
    model, _ = build_training(cfg, train.shape, train.num_classes, torch.device("cpu"), 0)
    model.load_state_dict(torch.load(run / "checkpoint.pt", weights_only=False)["model"])
    noisy, clean = p.split.noisy, torch.as_tensor(p.split.clean)
    clean_labels = torch.as_tensor(p.labels[p.split.clean])

    def auc(m: torch.nn.Module) -> float:
        ev = evaluate(m, data, noisy, p.labels[noisy])
        return 1 - roc_auc_score(p.is_noisy, np.exp(-ev.loss))

    print("trained network", round(auc(model), 4), "trusted samples", len(clean), flush=True)
    for part in parts:
        for lr in (0.01, 0.003):
            for steps in (25, 100):
                m = copy.deepcopy(model)
                opt = torch.optim.SGD(m.head.parameters() if part == "head" else m.parameters(), lr=lr, momentum=0.9)
                gen = torch.Generator().manual_seed(0)
                m.train(part == "all")  # the head alone: BatchNorm statistics stay the trained network's
                for _ in range(steps):
                    b = torch.randint(0, len(clean), (128,), generator=gen)
                    loss = F.cross_entropy(m(data.batch(clean[b], augment=True)), clean_labels[b])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                print(part, lr, steps, round(auc(m), 4), flush=True)


if __name__ == "__main__":
    main()
