"""A tqdm progress bar fed by the engine's progress callback (CLI only)."""
from __future__ import annotations

from tqdm import tqdm


class TqdmProgress:
    """One bar per phase ("lsw", "second pass", "retrain"), each over all its steps, counted in the steps of the
    phase's first epoch (a phase's epochs may differ in steps: the fold reading's fine-tuning trains on three
    quarters of the second network's rows), so a finished phase ends at 100%."""

    def __init__(self) -> None:
        self.bar: tqdm | None = None
        self.phase = ""
        self.steps = 1

    def update(self, phase: str, epoch: int, epochs: int, step: int, steps: int) -> None:
        if phase != self.phase:
            self.close()
            self.phase, self.steps = phase, max(1, steps)
            self.bar = tqdm(total=epochs * self.steps, desc=phase, unit="step", dynamic_ncols=True)
        assert self.bar is not None
        self.bar.n = round((epoch + step / max(1, steps)) * self.steps)
        self.bar.set_postfix_str(f"epoch {epoch + 1}/{epochs}", refresh=False)
        self.bar.refresh() if step == steps else self.bar.update(0)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> "TqdmProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
