"""UMAP of penultimate features, computed in a background thread and kept per (run, epoch)."""
from __future__ import annotations

import threading

import numpy as np
import streamlit as st


class Embedder:
    """key -> {"status": running|done|failed, "xy": (m, 2) array, "error": str}."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[tuple, dict] = {}

    def get(self, key: tuple) -> dict | None:
        with self._lock:
            return dict(self._jobs[key]) if key in self._jobs else None

    def request(self, key: tuple, features: np.ndarray, seed: int = 0) -> dict:
        with self._lock:
            if key not in self._jobs:
                self._jobs[key] = {"status": "running"}
                threading.Thread(target=self._work, args=(key, features, seed), daemon=True).start()
            return dict(self._jobs[key])

    def _work(self, key: tuple, features: np.ndarray, seed: int) -> None:
        try:
            import umap  # slow first import (numba): only here, in the background

            reducer = umap.UMAP(n_neighbors=15, min_dist=0.1, random_state=seed)
            xy = reducer.fit_transform(np.asarray(features, dtype=np.float32))
            result = {"status": "done", "xy": xy}
        except Exception as e:  # noqa: BLE001 - shown on the page
            result = {"status": "failed", "error": f"{type(e).__name__}: {e}"}
        with self._lock:
            self._jobs[key] = result


@st.cache_resource
def embedder() -> Embedder:
    return Embedder()
