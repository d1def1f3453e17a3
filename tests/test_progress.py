"""The CLI's progress bar (`lsw.progress.TqdmProgress`): a finished phase ends at 100% even when its epochs differ
in steps, as the second pass's do (the fold reading's fine-tuning trains on fewer rows)."""
from lsw.progress import TqdmProgress


def test_a_phase_whose_later_epochs_are_shorter_ends_full():
    with TqdmProgress() as progress:
        for epoch, steps in enumerate([40, 40, 30, 30]):
            for step in range(1, steps + 1):
                progress.update("second pass", epoch, 4, step, steps)
            if epoch == 2:
                assert progress.bar.n == 120  # three epochs done, in the first epoch's steps
        assert progress.bar.total == 160 and progress.bar.n == progress.bar.total
        progress.update("retrain", 0, 2, 5, 10)  # a new phase, a new bar
        assert progress.bar.desc.startswith("retrain") and progress.bar.total == 20 and progress.bar.n == 5
