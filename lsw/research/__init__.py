"""The research harnesses, apart from the product: `bench` (step timings side by side),
`compare` (LSW against its peers on one split) and `paper-table` (the paper's rows against ours).

`python -m lsw` loads one of these modules only when its command is asked for (`COMMANDS`), so the
product's commands (`run`, `export`) do not pay for them. Each module has `add_args(parser)` and
`main(args) -> int`.
"""
from __future__ import annotations

COMMANDS = {  # command -> (module, one-line help)
    "compare": ("lsw.research.compare", "LSW, MW-Net, L2RW, confident learning and small-loss on one split"),
    "paper-table": ("lsw.research.papertable", "the paper's CIFAR-10 rows against ours (JSON + Markdown)"),
    "bench": ("lsw.research.bench", "LSW step vs plain step side by side; --audit for a whole CIFAR-10 audit"),
    "bench-data": ("lsw.research.benchdata", "photo decoding into the disk cache, and streamed vs resident batches"),
}
