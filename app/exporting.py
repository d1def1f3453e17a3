"""The Export page's preview and its file on the server (lsw.exports: a name in $LSW_HOME/exports)."""
from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd
import streamlit as st

from app import runview, state
from lsw.errors import LswError
from lsw.export import CHUNK_ROWS, csv_pieces, export_inputs, export_pieces, run_decisions
from lsw.exports import exports_dir, safe_name, write_export
from lsw.rundir import RunDir, RunInfo
from lsw.samples import GivenLabels
from lsw.store import Decision

PREVIEW_ROWS = 200
CHUNK = CHUNK_ROWS  # rows per piece of a CSV written or downloaded (a name of its own: tests patch it)


@st.cache_resource(max_entries=2, show_spinner="Reading the run…")
def _inputs(run_path: str, epoch: int, threshold: float | None) -> tuple[pd.DataFrame, Mapping[str, str]]:
    """The export's input columns for every sample and id -> given label, read once per epoch shown
    and threshold (the Review page's, or None for the run's own)."""
    frame = export_inputs(RunDir(run_path), runview.table(RunDir(run_path), epoch, trusted=True), threshold)
    return frame, GivenLabels(frame["id"], frame["given_label"])


def export_state(run: RunDir, info: RunInfo, threshold: float | None = None
                 ) -> tuple[pd.DataFrame, dict[str, Decision], Mapping[str, str]]:
    """(export inputs, effective decisions, id -> given label) of the run shown, flagged by `threshold`
    (None: the run's): the decisions are read fresh on every rerun (they change as reviewers work), the
    rest comes from the cache."""
    frame, given = _inputs(str(run.path), info.epoch, threshold)
    return frame, run_decisions(run, state.store(), frame, given), given


def csv_download(frame: pd.DataFrame, final: dict[str, Decision]) -> Callable[[], bytes]:
    """The CSV built only when the download is clicked (Streamlit calls it then, off the script run)."""
    return lambda: b"".join(csv_pieces(export_pieces(frame, final, CHUNK)))


def preview(out: pd.DataFrame, allowed: bool) -> None:
    """The first rows, only for a reviewer who may export: the rows reach the browser only then. The
    dataframe's own CSV download is off (`client.disableDataExport` in .streamlit/config.toml), so the
    download button below, behind the same check, is the one way out."""
    if not allowed:
        st.caption("The preview shows once you may export.")
        return
    rows = out.head(PREVIEW_ROWS)
    # categorical text (the export keeps its text columns so) as plain objects: the table shows an empty
    # category as "None", an empty string as an empty cell
    shown = rows.astype({c: object for c in rows.columns if isinstance(rows[c].dtype, pd.CategoricalDtype)})
    st.dataframe(shown, width="stretch", hide_index=True)


class Write:
    """One CSV being written to $LSW_HOME/exports by a thread of its own (which never calls st.*), so
    that the page answers while a big run's file is written; `done` counts the rows handed to the file."""

    def __init__(self, frame: pd.DataFrame, final: dict[str, Decision], name: str, home: str) -> None:
        self.total, self.done = len(frame), 0
        self.path: Path | None = None
        self.error: str | None = None
        self._thread = threading.Thread(target=self._write, args=(frame, final, name, home), daemon=True,
                                        name="lsw-export")

    def start(self) -> Write:
        self._thread.start()
        return self

    def join(self) -> Write:
        self._thread.join()
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _parts(self, frame: pd.DataFrame, final: dict[str, Decision]):
        for part in export_pieces(frame, final, CHUNK):
            yield part
            self.done += len(part)

    def _write(self, frame: pd.DataFrame, final: dict[str, Decision], name: str, home: str) -> None:
        try:
            self.path = write_export(self._parts(frame, final), name, home)
        except LswError as e:
            self.error = f"Not written: {e}"
        except OSError as e:
            self.error = f"Could not write {exports_dir(home) / safe_name(name)}: {e.strerror or e}"


def write_form(info: RunInfo, threshold: float | None, allowed: bool) -> None:
    """A file name (not a path) and a button writing the CSV of the run `info` (flagged by `threshold`, see
    `export_state`) under $LSW_HOME/exports: at once when it is one piece (`CHUNK` rows), else in the
    background with a progress bar (a 1M-row file takes seconds)."""
    folder = exports_dir(state.lsw_home())
    st.text_input(f"Or write a file in {folder} on the server", value=f"labels-{info.run_id}.csv",
                  key="export_name", help="A file name: folders are not accepted, other characters "
                  "become _. A file is replaced only when it is an earlier export the dashboard wrote.")
    current = st.session_state.get("export_write")
    busy = current is not None and current.running
    st.button("Write CSV", disabled=not allowed or busy, on_click=_start_write, args=(info, threshold))
    write_progress()


def _start_write(info: RunInfo, threshold: float | None) -> None:
    """The button's callback (before the rerun it causes, so that rerun shows the write under way). The name
    and the decisions are read now, not from the run that drew the button: a name typed just before the
    click and a decision made since by another reviewer are in the file."""
    frame, final, _ = export_state(state.current_run(), info, threshold)
    write = Write(frame, final, st.session_state["export_name"], state.lsw_home()).start()
    st.session_state["export_write"] = write
    if len(frame) <= CHUNK:  # one piece: about a second at most, written before the page shows
        write.join()


def write_progress() -> None:
    """The latest write's progress while it runs (polled), then its outcome."""
    write = st.session_state.get("export_write")
    running = write is not None and write.running

    @st.fragment(run_every=0.5 if running else None)
    def panel() -> None:
        if write is None:
            return
        if write.running:
            st.progress(write.done / max(write.total, 1), text=f"Writing {write.done:,} of {write.total:,} rows…")
        elif running:
            st.rerun()  # finished since this run began: a full rerun turns the polling off
        elif write.error:
            st.error(write.error)
        else:
            st.success(f"Wrote {write.total:,} rows to {write.path}")

    panel()
