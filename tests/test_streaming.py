"""Streamed batches (read from the memory-mapped decode cache) give the same run as device-resident ones."""
import numpy as np
import torch
from PIL import Image
from sklearn.datasets import load_digits

import lsw.batches as batches
from lsw.audit import run_audit
from lsw.batches import StreamImages, make_images
from lsw.config import RunConfig
from lsw.device_data import DeviceImages


def digits_folder(root, n=400):
    d = load_digits()
    for i in range(n):
        path = root / str(d.target[i]) / f"{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.round(d.images[i] * 255 / 16).astype(np.uint8)).save(path)
    return root


def test_streamed_run_matches_the_resident_run(tmp_path, monkeypatch):
    monkeypatch.setenv("LSW_CACHE_DIR", str(tmp_path / "cache"))
    root = digits_folder(tmp_path / "digits")
    served = []
    real_take = StreamImages.take

    def counted(self, index):
        served.append(self)
        return real_take(self, index)

    monkeypatch.setattr(StreamImages, "take", counted)
    cfg = dict(data=f"folder:{root}", noise="symmetric:0.3", clean_per_class=8, model="tinynet", epochs=4,
               start_epoch=1, start_steps=0, batch_size=64, clean_batch_size=40, device="cpu", seed=0,
               alpha_step="sum", eta_alpha=1.0)  # the paper's step, under which every weight moves
    run_audit(RunConfig(**cfg, data_path="resident"), tmp_path / "resident")
    assert served == []
    run_audit(RunConfig(**cfg, data_path="stream"), tmp_path / "stream")
    streams = {id(s): s for s in served}.values()
    assert served and all(isinstance(s.images, np.memmap) for s in streams)  # read from the disk cache
    assert sum(s.read_ahead for s in streams) >= 4 * 5  # the training batches came from the prefetch
    a, b = np.load(tmp_path / "resident" / "alpha.npy"), np.load(tmp_path / "stream" / "alpha.npy")
    assert a.shape == b.shape and np.abs(a[-1] - 0.5).max() > 0.01  # alpha was learned...
    assert np.abs(a - b).max() < 1e-5  # ...and both paths learned the same


def test_auto_streams_what_exceeds_the_budget(monkeypatch):
    images = np.random.default_rng(0).integers(0, 256, (50, 3, 8, 8), dtype=np.uint8)
    cpu = torch.device("cpu")
    assert type(make_images(images, cpu)) is DeviceImages
    monkeypatch.setenv("LSW_DATA_BUDGET_MB", str(images.nbytes / 2**20 / 2))
    assert batches.budget_bytes(cpu) < images.nbytes and type(make_images(images, cpu)) is StreamImages


def test_prefetch_serves_batches_in_order_and_falls_back_when_asked_otherwise():
    images = np.random.default_rng(0).integers(0, 256, (50, 1, 8, 8), dtype=np.uint8)
    s = StreamImages(images, torch.device("cpu"), hflip=False)
    order = [torch.tensor([3, 1, 2]), torch.tensor([40, 0]), torch.tensor([7])]
    s.prefetch(order)
    assert torch.equal(s.take(order[0]), torch.from_numpy(images[[3, 1, 2]]))
    assert torch.equal(s.take(torch.tensor([9])), torch.from_numpy(images[[9]]))  # not the next one: read now
    assert torch.equal(s.take(order[1]), torch.from_numpy(images[[40, 0]]))
    assert torch.equal(s.take(order[2]), torch.from_numpy(images[[7]]))
    assert s.read_ahead == 3
    ref = DeviceImages(images, torch.device("cpu"), hflip=False)
    assert torch.allclose(s.batch(torch.tensor([5, 6])), ref.batch(torch.tensor([5, 6])))
