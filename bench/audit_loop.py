"""The audit loop with a simulated reviewer (not part of the product): how many wrong labels a reviewer
finds per 100 reviews in LSW's queue against small-loss order and random order, and what a second round
trained on those reviews gains.

    python bench/audit_loop.py --out /tmp/audit-loop                  # digits + Fashion-MNIST 6k
    python bench/audit_loop.py --cases digits --epochs 10 --out /tmp/a  # a quick one
    python bench/audit_loop.py --cases cifar10n --cifar PATH/cifar10-jpeg.npz \
        --human PATH/cifar10n-random1.npz:random_label1 --model resnet18 --batch-size 512 --out /tmp/c  # a GPU

Per case: the collection's labels are made noisy everywhere (no trusted rows: digits 30% symmetric,
Fashion-MNIST 40% instance-dependent), written as a label file (`--labels PATH:KEY`); cifar10n takes
CIFAR-10's real human labels from `--human` instead (17% wrong); and then:
1. verify 10 per class first (`lsw.trusted.verify_sample` on the given labels): the reviewer answers
   from the true label, "correct" or "relabel" to the true class; those samples become D^c;
2. round 1: LSW trained on that D^c; small-loss trained on the same split, for its order;
3. the reviewer takes the top `--review` samples of each order (least trusted first; random: a seeded
   shuffle) and answers from the truth: wrong labels found per 100 reviews for each order; only LSW's
   reviews are recorded in the review store (that is the queue the product serves);
4. round 2 (`lsw.rounds.next_round`): D^c = the verified samples; every reviewed sample trained on with
   its corrected label (`lsw.trusted`'s `reviewed`), excluded ones dropped; its detection AUC and its
   queue's precision (top `--review` of its own queue, skipping the samples reviewed already) against
   round 1's, on the samples round 1 left unreviewed.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lsw.audit import run_audit  # noqa: E402
from lsw.config import RunConfig  # noqa: E402
from lsw.data import load_source  # noqa: E402
from lsw.noise import add_noise  # noqa: E402
from lsw.rounds import next_round  # noqa: E402
from lsw.rundir import RunDir  # noqa: E402
from lsw.store import ReviewStore  # noqa: E402
from lsw.trusted import VERIFIED, TrustedSet, apply_decisions, verify_sample  # noqa: E402

CASES = {  # data, noise, subset, epochs (the README's recipes for these sets)
    "digits": ("digits", "symmetric:0.3", None, 10),
    "fashion": ("fashion-mnist", "instance:0.4", 6000, 12),  # --fashion-n to shrink it on a loaded CPU
    "cifar10n": ("cifar10", "human", None, 20),  # data from --cifar, labels from --human (a GPU case)
}


def noisy_label_file(data: str, noise: str, subset: int | None, seed: int, out: Path) -> tuple[str, np.ndarray]:
    """Noise over the whole training set (the verify sample sees it too), saved as PATH.npz:noisy."""
    src = load_source(data, progress=False)
    train = src.train
    features = train.images.reshape(len(train), -1).astype(np.float32) / 255.0
    noisy = add_noise(train.labels, train.num_classes, noise, seed=seed, features=features)
    path = out / f"{data}-noisy.npz"
    np.savez(path, noisy=noisy)
    return f"{path}:noisy", noisy


def review(store: ReviewStore, dataset: str, table, order: np.ndarray, k: int, record: bool) -> float:
    """The reviewer takes rows `order[:k]` of `table` (audited rows), answers from the truth; returns the
    wrong labels found per 100 reviews. `record`: write the decisions to the store."""
    rows = table.iloc[order[:k]]
    wrong = rows.is_noisy.to_numpy()
    if record:
        for (_, r), w in zip(rows.iterrows(), wrong):
            true_name = table.attrs["classes"][int(r.true_label)]
            store.record(dataset, str(r.id), "sim", "relabel" if w else "correct", old_label=r.label_name,
                         new_label=true_name if w else None, given_label=r.label_name, run_id="bench")
    return 100.0 * float(wrong.mean())


def table_of(run: RunDir):
    t = run.sample_table()
    t.attrs["classes"] = [str(c) for c in run.samples(ids=False)["classes"]]
    return t


def case(name: str, args: argparse.Namespace, out: Path) -> dict:
    data, noise, subset, epochs = CASES[name]
    if name == "fashion" and args.fashion_n:
        subset = args.fashion_n
    subset = args.max_samples or subset
    epochs = (args.fashion_epochs if name == "fashion" and args.fashion_epochs else None) or args.epochs or epochs
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    if noise == "human":
        data, spec = f"{data}:{args.cifar}", args.human
    else:
        spec, _ = noisy_label_file(data, noise, subset, args.seed, folder)
    base = RunConfig(data=data, labels=spec, max_samples=subset, epochs=epochs, seed=args.seed, device=args.device,
                     **({"model": args.model} if args.model else {}),
                     **({"batch_size": args.batch_size} if args.batch_size else {}))
    store = ReviewStore(folder / "reviews.sqlite")
    # the data as the run sees it (subset, fingerprint), to draw the verify sample from the given labels
    from lsw.prepare import prepare

    probe = prepare(RunConfig(**{**base.to_dict(), "clean_per_class": 10}), progress=False)
    train, fp = probe.source.train, probe.source.fingerprint
    full = load_source(data, progress=False)
    index = {s: i for i, s in enumerate(full.train.ids)}
    from lsw.data.labels import load_label_file

    file_labels = load_label_file(spec, len(full.train), full.train.num_classes)
    given = file_labels[[index[s] for s in train.ids]]  # every row's given label, D^c's included
    rows = verify_sample(given, train.num_classes, args.verify, args.seed)
    names = train.classes
    for r in rows:
        g, t = names[given[r]], names[train.labels[r]]
        store.record(fp, train.ids[r], "sim", "correct" if g == t else "relabel", old_label=g,
                     new_label=None if g == t else t, given_label=g, run_id="verify")
    ids = [train.ids[r] for r in rows]
    ts = apply_decisions(TrustedSet(fp, VERIFIED), store.final_states(fp), ids)
    ts.write(folder / "verified.json")
    verify_wrong = int((given[rows] != train.labels[rows]).sum())

    t0 = time.perf_counter()
    r1 = RunDir(folder / "r1-lsw")
    s1 = run_audit(RunConfig(**{**base.to_dict(), "trusted": str(folder / "verified.json")}), r1.path)
    rs = RunDir(folder / "r1-small-loss")
    run_audit(RunConfig(**{**base.to_dict(), "trusted": str(folder / "verified.json"), "method": "small-loss"}),
              rs.path)
    t1 = table_of(r1)
    lsw_order = np.argsort(t1.score.to_numpy(), kind="stable")
    ts_ = table_of(rs)
    assert (ts_.id.to_numpy() == t1.id.to_numpy()).all(), "the two round-1 runs must audit the same samples"
    small_order = np.argsort(ts_.score.to_numpy(), kind="stable")
    random_order = np.random.default_rng(args.seed).permutation(len(t1))
    k = min(args.review, len(t1))
    found = {"lsw": review(store, fp, t1, lsw_order, k, record=True),
             "small-loss": review(store, fp, ts_, small_order, k, record=False),
             "random": review(store, fp, t1, random_order, k, record=False)}

    r2 = RunDir(folder / "r2-lsw")
    cfg2 = next_round(r1, store, folder / "r2-trusted.json")
    s2 = run_audit(cfg2, r2.path)
    reviewed = set(t1.iloc[lsw_order[:k]].id.astype(str))
    t2 = table_of(r2)
    t2 = t2[~t2.id.astype(str).isin(reviewed)]  # round 2 audits what round 1's reviews left
    k2 = min(args.review, len(t2))
    r2_found = 100.0 * float(t2.iloc[np.argsort(t2.score.to_numpy(), kind="stable")[:k2]].is_noisy.mean())
    # like for like: compare both rounds' scores on exactly the samples round 1's reviews left, and round 1's
    # next reviews with round 2's first
    from lsw.metrics import detection_metrics

    left = t1.set_index("id").loc[t2.id]
    same_r1 = detection_metrics(left.is_noisy.to_numpy(), left.score.to_numpy(), base.threshold)["auc"]
    same_r2 = detection_metrics(t2.is_noisy.to_numpy(), t2.score.to_numpy(), base.threshold)["auc"]
    r1_next = 100.0 * float(left.sort_values("score", kind="stable").iloc[:k2].is_noisy.mean())
    return dict(case=name, noise=noise, n=len(train), verify=len(rows), verify_wrong=verify_wrong, reviews=k,
                lsw=found["lsw"], small_loss=found["small-loss"], random=found["random"],
                r1_auc=s1["auc"], r2_auc=s2["auc"], r1_prec=found["lsw"], r2_prec=r2_found,
                same_r1=same_r1, same_r2=same_r2, r1_next=r1_next,
                r1_clean=s1["n_clean"] + s1["n_val"], r2_clean=s2["n_clean"] + s2["n_val"],
                r1_noisy=s1["n_noisy"], r2_noisy=s2["n_noisy"], r2_noise_rate=s2["noise_rate"],
                seconds=time.perf_counter() - t0, epochs=epochs)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", default="digits,fashion")
    p.add_argument("--out", required=True)
    p.add_argument("--verify", type=int, default=10, help="samples verified per class before round 1")
    p.add_argument("--review", type=int, default=300, help="reviews of the top of each queue")
    p.add_argument("--epochs", type=int, default=None, help="override each case's epochs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fashion-n", type=int, default=None, help="Fashion-MNIST subset size (default 6000)")
    p.add_argument("--fashion-epochs", type=int, default=None, help="override Fashion-MNIST's epochs only")
    p.add_argument("--device", default="auto")
    p.add_argument("--max-samples", type=int, default=None, help="override every case's subset size")
    p.add_argument("--model", default=None, help="override the default model (auto)")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--cifar", default="../shared/data/cifar10-jpeg.npz", help="cifar10n: CIFAR-10's images")
    p.add_argument("--human", default="../shared/data/cifar10n-random1.npz:random_label1",
                   help="cifar10n: the human labels, PATH.npz:KEY")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = [case(c, args, out) for c in args.cases.split(",")]
    print(f"\nWrong labels found per 100 reviews (top {args.review} of each order; verify {args.verify}/class first)")
    print(f"{'case':<8} {'noise':<13} {'n':>5} {'LSW':>6} {'small-loss':>10} {'random':>6}")
    for r in results:
        print(f"{r['case']:<8} {r['noise']:<13} {r['n']:>5} {r['lsw']:>6.1f} {r['small_loss']:>10.1f} "
              f"{r['random']:>6.1f}")
    print(f"\nRound 2 (D^c = the verified sample, the {args.review} reviews trained on with their labels) against "
          "round 1")
    print(f"{'case':<8} {'D^c r1':>6} {'D^c r2':>6} {'AUC r1':>7} {'AUC r2':>7} {'AUC r1*':>7} {'AUC r2*':>7} "
          f"{'prec r1':>7} {'prec r2':>7} {'next r1*':>8} {'epochs':>6} {'s':>5}")
    for r in results:
        print(f"{r['case']:<8} {r['r1_clean']:>6} {r['r2_clean']:>6} {r['r1_auc']:>7.4f} {r['r2_auc']:>7.4f} "
              f"{r['same_r1']:>7.4f} {r['same_r2']:>7.4f} {r['r1_prec']:>7.1f} {r['r2_prec']:>7.1f} "
              f"{r['r1_next']:>8.1f} {r['epochs']:>6} {r['seconds']:>5.0f}")
    print("AUC r1/r2: each round on its own audited set. *: on the same samples, those round 1 left unreviewed "
          "(round 2 audits them and the reviewed ones, trained on with their labels). prec: wrong labels per 100 "
          "in the top of each round's queue; next r1*: "
          "round 1's next reviews (its order over the samples left), the alternative to retraining.\n"
          "The verify sample held " + ", ".join(f"{r['verify_wrong']} wrong of {r['verify']} ({r['case']})"
                                                for r in results) + ".", flush=True)


if __name__ == "__main__":
    main()
