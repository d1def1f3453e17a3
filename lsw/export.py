"""Corrected labels to CSV: one row per sample of a run, formula-safe cells, written atomically.

`corrected_labels(run, store)` is the one export: the Export page and `python -m lsw export` both
write it. Every sample of the run is a row, the audited ones (D^n) and the trusted ones (D^c), with
the set it was in. `original_label` is always the source's own label (never a synthetic-noise
label); `given_label` is the label the audit was given (differs only where synthetic noise flipped it;
a trusted row trains on its reviewer's label, but is given the label the reviewer saw); `final_label`
is the reviewers' verdict, else the original label.

Formula injection (OWASP "CSV Injection"): a spreadsheet runs a cell that starts with `=`, `+`,
`-`, `@`, tab or carriage return as a formula, and file names, labels and reviewer names are
user-controlled. Every such *string* cell is prefixed with a single quote; numeric columns (alpha,
loss) stay numbers, so a negative loss is still a number. Rows end in CRLF (RFC 4180), which also
makes the CSV writer quote any cell holding a carriage return or a newline.
"""
from __future__ import annotations

import math
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lsw.errors import LswError
from lsw.rundir import RunDir
from lsw.samples import AUDITED, GivenLabels
from lsw.store import Decision, ReviewStore, labels_for

COLUMNS = ["id", "path", "set", "original_label", "given_label", "final_label", "action", "reviewer", "time",
           "alpha", "trust", "loss", "predicted_label", "flagged"]
NUMBER_COLUMNS = ["alpha", "trust", "loss"]
REQUIRED = ["id", "path", "label", "alpha", "loss", "pred", "flagged"]
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 100_000  # rows per piece of an export written or downloaded: bounded memory at any size


def neutralise(value: Any) -> Any:
    """`value` with a leading `'` when it is a string a spreadsheet would run as a formula; anything
    else (numbers included) unchanged. Idempotent: a neutralised string starts with `'`."""
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def _text(value: Any) -> Any:
    """A text cell: missing -> "", strings neutralised, other values (e.g. integer ids) kept."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return neutralise(value)


def final_label(original: Any, given: Any, d: Decision | None) -> Any:
    """The new label for relabel, "" for exclude, the label kept for correct (as the reviewer saw it,
    else the given one), and the original label for ambiguous or no decision."""
    if d is None or d.action == "ambiguous":
        return original
    if d.action == "relabel":
        return d.new_label
    if d.action == "exclude":
        return ""
    return d.old_label or given


def text_column(values: pd.Series) -> pd.Series:
    """`_text` over a column (index reset): missing values become "", strings that a spreadsheet would
    run get their quote, other values are kept. Categoricals are rewritten through their categories and
    string columns vectorised, so a column of 1M rows costs milliseconds; any other column goes cell by cell."""
    s = values.reset_index(drop=True)
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = [_text(c) for c in s.cat.categories] + [""]  # code -1 (missing) -> the last
        unique = list(dict.fromkeys(cats))
        remap = np.array([unique.index(c) for c in cats], dtype=np.int64)
        return pd.Series(pd.Categorical.from_codes(remap[s.cat.codes.to_numpy()], categories=unique))
    if isinstance(s.dtype, pd.StringDtype):
        filled = s.fillna("")
        return filled.where(~filled.str.startswith(DANGEROUS), "'" + filled)
    return pd.Series([_text(v) for v in s], dtype=object)


def export_rows(samples: pd.DataFrame, final: dict[str, Decision]) -> pd.DataFrame:
    """Every sample with its final label, in the columns of `COLUMNS`.

    samples: columns id, path, label (the source's own class name), alpha, loss, pred (predicted class
    name), flagged, and optionally given_label (the class name the audit was given; default label), set
    (default "audited") and trust (default NaN); other columns are ignored. final: the effective
    decision per sample id (`ReviewStore.final_states`; looked up by `str(id)`).
    final_label: see `final_label`. action, reviewer and time are "" for a sample without a decision.
    Vectorised over the samples; only the rows with a decision are visited one by one.
    """
    missing = [c for c in REQUIRED if c not in samples.columns]
    if missing:
        raise LswError(f"cannot export: the sample table lacks column(s) {', '.join(missing)}")
    samples = samples.reset_index(drop=True)
    given = samples["given_label"] if "given_label" in samples else samples["label"]
    ids = samples["id"].astype(str)
    decided = np.flatnonzero(ids.isin(list(final)).to_numpy()) if final else np.array([], dtype=np.int64)
    decisions = [final[ids.iat[r]] for r in decided]
    text = {c: text_column(v) for c, v in (("id", samples["id"]), ("path", samples["path"]),
                                           ("original_label", samples["label"]), ("given_label", given),
                                           ("predicted_label", samples["pred"]))}
    text["set"] = text_column(samples["set"] if "set" in samples else pd.Series([AUDITED] * len(samples)))
    final_labels = text["original_label"].astype(object)
    final_labels.iloc[decided] = [_text(final_label(samples["label"].iat[r], given.iat[r], d))
                                  for r, d in zip(decided, decisions, strict=True)]
    text["final_label"] = final_labels
    for col, value in (("action", lambda d: d.action), ("reviewer", lambda d: d.reviewer), ("time", lambda d: d.ts)):
        cells = np.full(len(samples), "", dtype=object)
        cells[decided] = [_text(value(d)) for d in decisions]
        text[col] = pd.Series(pd.Categorical(cells))
    number = lambda c: pd.to_numeric(samples[c], errors="coerce").astype(float).to_numpy()  # noqa: E731
    return pd.DataFrame({
        **text,
        "alpha": number("alpha"),
        "trust": number("trust") if "trust" in samples else float("nan"),
        "loss": number("loss"),
        "flagged": samples["flagged"].fillna(False).astype(bool).to_numpy(),
    }, columns=COLUMNS)


def export_inputs(run: RunDir, table: pd.DataFrame | None = None, threshold: float | None = None) -> pd.DataFrame:
    """The columns `export_rows` reads, for every sample of `run` (audited and trusted); `table` is the
    run's `sample_table(trusted=True)` when the caller already holds it; `threshold` flags by this score
    threshold instead of the run's (the Review page's choice)."""
    table = run.sample_table(trusted=True) if table is None else table
    if table.empty:
        raise LswError(f"{run.path} holds no finished epoch of a run: nothing to export yet")
    if threshold is not None:
        from lsw.samples import with_threshold

        table = with_threshold(table, threshold)
    source = table["source_name"].where(table["source_name"] != "", table["label_name"])
    return pd.DataFrame({
        "id": table["id"], "path": table["id"], "set": table["set"], "label": source,
        "given_label": table["given_name"], "alpha": table["alpha"] if "alpha" in table else float("nan"),
        "trust": table["trust"], "loss": table["loss"], "pred": table["pred_name"], "flagged": table["flagged"]})


def corrected_labels(run: RunDir, store: ReviewStore, table: pd.DataFrame | None = None,
                     rows: int | None = None, threshold: float | None = None) -> pd.DataFrame:
    """The export of `run`: every sample (audited and trusted) with the reviewers' decisions in
    `store` that were made on the label the sample is given in this run (see `lsw.store`).
    rows: only the first `rows` samples (a preview). threshold: see `export_inputs`."""
    frame = export_inputs(run, table, threshold)
    return export_rows(frame if rows is None else frame.head(rows), run_decisions(run, store, frame))


def run_decisions(run: RunDir, store: ReviewStore, frame: pd.DataFrame,
                  given: Mapping[str, str] | None = None) -> dict[str, Decision]:
    """The effective decision per sample id of `frame` (`export_inputs`) for the labels it gives;
    `given` (id -> given label of every row of `frame`) when the caller already holds it."""
    given = GivenLabels(frame["id"], frame["given_label"]) if given is None else given
    return store.final_states(run.info().dataset, given)


def decision_counts(final: dict[str, Decision], given: Mapping[str, str]) -> tuple[int, int]:
    """(samples with an effective decision, of which relabelled) among the ids of `given`; counted
    over the decisions, so it costs nothing on a run of 1M samples."""
    present = labels_for(given, final)
    held = [d for sid, d in final.items() if sid in present]
    return len(held), sum(1 for d in held if d.action == "relabel")


def export_chunks(run: RunDir, store: ReviewStore, table: pd.DataFrame | None = None,
                  chunk: int = CHUNK_ROWS, threshold: float | None = None) -> Iterator[pd.DataFrame]:
    """`corrected_labels` in consecutive pieces of `chunk` rows, so that a run of any size is written
    to disk (`write_csv`) without its whole CSV in memory."""
    frame = export_inputs(run, table, threshold)
    yield from export_pieces(frame, run_decisions(run, store, frame), chunk)


def export_pieces(frame: pd.DataFrame, final: dict[str, Decision], chunk: int = CHUNK_ROWS
                  ) -> Iterator[pd.DataFrame]:
    """`export_rows` of `frame` (`export_inputs`) in consecutive pieces of `chunk` rows."""
    for s in range(0, len(frame), chunk):
        yield export_rows(frame.iloc[s:s + chunk], final)


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """The CSV (UTF-8, header, no index, CRLF rows), every string cell neutralised once more, so a
    frame that did not come from `export_rows` is safe too."""
    safe = df.rename(columns=neutralise).reset_index(drop=True)
    for col in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[col]) and not pd.api.types.is_bool_dtype(safe[col]):
            safe[col] = text_column(safe[col])  # text or object: numbers in it stay numbers
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def csv_pieces(parts: Iterable[pd.DataFrame]) -> Iterator[bytes]:
    """The CSV of the frames `parts`, one after the other, piece by piece (`to_csv_bytes`): the header
    once, from the first."""
    for i, part in enumerate(parts):
        data = to_csv_bytes(part)
        yield data if i == 0 else data[data.index(b"\r\n") + 2:]


def write_csv(df: pd.DataFrame | Iterable[pd.DataFrame], path: str | Path) -> Path:
    """Write the CSV of `df`, or of the frames `df` yields one after the other (one header, see
    `export_chunks`), to `path` atomically and return it: a temporary file in the same folder,
    fsync, `os.replace`; the target is never seen half-written and on failure it is untouched and
    the temporary file is removed. Parent folders are created. An existing file keeps its mode."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    parts = [df] if isinstance(df, pd.DataFrame) else df
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            for data in csv_pieces(parts):
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
