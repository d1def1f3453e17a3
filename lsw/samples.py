"""One row per sample of a run: what galleries, the map and the export read."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lsw.scoring import flag_score, run_score, score_name
from lsw.trust import stored_trust

if TYPE_CHECKING:
    from lsw.rundir import RunDir

# the `set` column: D^n (scored, may be flagged), D^c, or the validation part of the trusted set
AUDITED, TRUSTED, VALIDATION = "audited", "trusted", "validation"
SETS = [AUDITED, TRUSTED, VALIDATION]


def sample_table(run: RunDir, epoch: int | None = None, trusted: bool = False) -> pd.DataFrame:
    """The noisy set D^n at `epoch` (default: the last finished one), then, when `trusted`, D^c and the
    validation set (the two parts of the trusted set).

    Columns: row (index in the train set), id, set ("audited" = D^n, "trusted" = D^c, "validation"), label (the
    label training saw, int: the source's own plus any synthetic noise), label_name, source_name (the
    source's own label), the method's score by its name (`alpha` for LSW; NaN on trusted rows, which
    have none), loss, pred, pred_name, prob, trust (`lsw.trust`; exp(-loss) on trusted rows), score (the
    run's flag score, see `lsw.scoring`; higher = trusted), flagged (score < threshold; never on trusted rows), and when
    true labels are known true_label and is_noisy. Empty frame when no epoch has finished.
    Trusted rows of runs written before D^c was evaluated per sample have NaN loss and pred -1.
    """
    s = run.samples(ids=False)
    s["ids"] = _ids(run)
    cfg = run.config()
    epochs = run.epochs()
    if not epochs:
        return pd.DataFrame()
    epoch = epoch if epoch is not None else epochs[-1]
    arrays = run.epoch_arrays(epoch)
    name = score_name(cfg.get("method", "lsw"))
    parts = [_rows(s, s["noisy_index"], AUDITED, name, run.method_score(epoch), arrays["loss"], arrays["pred"],
                   arrays["prob"], stored_trust(arrays))]
    for which, key in ((TRUSTED, "clean"), (VALIDATION, "val")) if trusted else ():
        rows = s.get(f"{key}_index", np.array([], dtype=np.int64))
        n = len(rows)
        parts.append(_rows(s, rows, which, name, np.full(n, np.nan), arrays.get(f"{key}_loss", np.full(n, np.nan)),
                           arrays.get(f"{key}_pred", np.full(n, -1)), arrays.get(f"{key}_prob", np.full(n, np.nan)),
                           None))
    df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    df["score"] = flag_score(run_score(cfg), df[name], df["trust"])
    df["flagged"] = (df["set"] == AUDITED) & (df["score"] < cfg["threshold"])
    if "true_labels" in s:
        df["true_label"] = s["true_labels"][df["row"]]
        df["is_noisy"] = df["true_label"] != df["label"]
    return df


def _rows(s: dict, index: np.ndarray, which: str, weight_name: str, weight: np.ndarray, loss: np.ndarray,
          pred: np.ndarray, prob: np.ndarray, trust: np.ndarray | None) -> pd.DataFrame:
    loss = np.asarray(loss, dtype=np.float32)
    trust = np.exp(-loss.astype(np.float64)) if trust is None else trust
    # Class names as categoricals over the codes (code -1 -> ""): no string is built per sample, so a run of
    # 1M samples builds its table in a second (strings took 0.8 s a column at 900,000 rows).
    names = [str(c) for c in s["classes"]] + [""]

    def named(codes: np.ndarray) -> pd.Categorical:
        codes = np.asarray(codes, dtype=np.int64)
        return pd.Categorical.from_codes(np.where(codes < 0, len(names) - 1, codes), categories=names)

    labels = s["labels"][index]
    given = s["given_labels"][index]
    source = s["source_labels"][index] if "source_labels" in s else np.full(len(index), -1)
    pred = np.asarray(pred, dtype=np.int64)
    return pd.DataFrame({
        "row": index,
        "id": _take(s["ids"], index),
        "set": pd.Categorical.from_codes(np.full(len(index), SETS.index(which), dtype=np.int8), categories=SETS),
        "label": labels,
        "label_name": named(labels),
        "given_name": named(given),
        "source_name": named(source),
        weight_name: np.asarray(weight, dtype=np.float32),
        "loss": loss,
        "pred": pred,
        "pred_name": named(pred),
        "prob": np.asarray(prob, dtype=np.float32),
        "trust": np.asarray(trust, dtype=np.float32),
    }, copy=False)  # columns kept apart, not stacked into blocks (a copy: 0.15 s at 1M rows)


def _ids(run: RunDir):
    """The run's ids as Arrow (`RunDir.ids`), or as numpy where pyarrow is missing (a bare training machine)."""
    try:
        return run.ids()
    except ImportError:
        return run.samples()["ids"]


def _take(ids, index: np.ndarray):
    """The id column of rows `index`: gathered in Arrow (no Python string per id), else through numpy."""
    if isinstance(ids, np.ndarray):
        return ids[index].astype(object)
    import pyarrow as pa
    import pyarrow.compute as pc

    # to_pandas: pandas' own string dtype over the Arrow buffers (pandas 3), object strings on pandas 2
    return pc.take(ids, pa.array(index, type=pa.int64())).to_pandas().array


class GivenLabels(Mapping[str, str]):
    """sample id (str) -> the label name the data gives it, over two columns of a table (ids, labels), for
    `lsw.store.ReviewStore.final_states`. The store asks for the ids of its decisions at once (`lookup`):
    one pass over the id column (about 20 ms at 1M samples). A hash index of every id (0.3 s at 1M, a whole
    dict 0.7 s) is built only for one-by-one lookups or for more ids than `INDEX_FROM`."""

    INDEX_FROM = 20_000

    def __init__(self, ids: pd.Series, labels: pd.Series) -> None:
        self._ids, self._names = ids, labels
        self._index: pd.Index | None = None

    def lookup(self, keys: Iterable[str]) -> dict[str, str]:
        """{id: given label name} for those of `keys` that are samples of the table."""
        keys = {str(k) for k in keys}
        if len(keys) > self.INDEX_FROM or self._index is not None:
            return {k: self[k] for k in keys if k in self}
        rows = np.flatnonzero(self._ids.isin(keys).to_numpy())
        return {str(i): str(n) for i, n in zip(self._ids.iloc[rows], self._names.iloc[rows])}

    def __getitem__(self, key: str) -> str:
        if self._index is None:
            self._index = pd.Index(self._ids.astype(str))
        return str(self._names.iat[self._index.get_loc(str(key))])  # KeyError when absent; ids are unique

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids.astype(str))

    def __len__(self) -> int:
        return len(self._ids)


def given_labels(table: pd.DataFrame) -> GivenLabels:
    """sample id (str) -> the label name the data gives it (`given_name`: on a trusted row, the one a reviewer
    saw, not the reviewer's), over a sample table (`GivenLabels`)."""
    return GivenLabels(table["id"], table["given_name"])


def with_threshold(table: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """`table` flagged by another threshold (the Review page's, after training; the run keeps its own):
    a copy whose `flagged` is score < threshold on audited rows. Unchanged (the same object) when
    `threshold` is the table's own."""
    if table.empty:
        return table
    flagged = (table["set"] == AUDITED) & (table["score"] < threshold)
    if flagged.equals(table["flagged"]):
        return table
    out = table.copy()
    out["flagged"] = flagged
    return out
