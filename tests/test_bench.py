"""The bench runs on the CPU at small sizes and prints the side-by-side table."""
from lsw.cli import main
from lsw.device_data import resolve_device
from lsw.research.bench import bench_pair, format_table


def test_bench_pair_measures_all_three_steps():
    r = bench_pair("tinynet", 16, 16, (1, 8, 8), 10, resolve_device("cpu"), steps=2, warmup=1)
    for kind in ("full", "head"):
        assert r["plain_s"] > 0 and r[f"{kind}_s"] > 0 and r[f"{kind}_ratio"] == r[f"{kind}_s"] / r["plain_s"]
    assert r["plain_mib"] is None  # peak memory is a CUDA figure
    assert "tinynet" in format_table([r])


def test_bench_command_prints_a_table(capsys):
    assert main(["bench", "--models", "tinynet", "--batch-sizes", "8", "--clean-batch-size", "8", "--channels", "1",
                 "--image-size", "8", "--steps", "2", "--warmup", "1", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "head x" in out and "full x" in out and "tinynet" in out and "cpu" in out
