"""Times the dashboard's interactions on a big run folder through Streamlit's AppTest (a real script run).

    python bench/big_run.py --n 1000000 --home /tmp/lsw-big && python bench/pages_1m.py --home /tmp/lsw-big

Each row is one interaction as a user makes it (a page opened, a gallery or a filter chosen, a page
turned, a decision clicked, an epoch picked, the CSV written), in seconds of script run. "first" rows
include reading the run from disk into the page caches; every later interaction is served from them.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(label: str, fn, rows: list) -> object:
    t = time.perf_counter()
    at = fn()
    rows.append((label, time.perf_counter() - t))
    assert not at.exception, [e.value for e in at.exception]
    return at


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--home", default="/tmp/lsw-big")
    args = p.parse_args()
    os.environ["LSW_HOME"] = args.home
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=600).run()
    at.sidebar.text_input[0].set_value("bench").run()
    rows: list[tuple[str, float]] = []
    timed("Monitor: open (first)", lambda: at.switch_page("../pages/monitor.py").run(), rows)
    timed("Monitor: pick epoch 5", lambda: at.slider(key="monitor_epoch").set_value(5).run(), rows)
    timed("Monitor: pick epoch 17", lambda: at.slider(key="monitor_epoch").set_value(17).run(), rows)
    timed("Review: open (first)", lambda: at.switch_page("../pages/review.py").run(), rows)
    timed("Review: open again", lambda: at.switch_page("../pages/review.py").run(), rows)
    for g in ("noisy-high", "clean-low", "flagged"):
        timed(f"Review: gallery {g}", lambda g=g: at.radio(key="gallery").set_value(g).run(), rows)
    timed("Review: filter given label", lambda: at.multiselect(key="f_given").set_value(["class_03"]).run(), rows)
    timed("Review: filter predicted label",
          lambda: at.multiselect(key="f_pred").set_value(["class_03", "class_05"]).run(), rows)
    for sort in ("loss ↓ (worst fit first)", "alpha ↓"):
        timed(f"Review: sort {sort.split(' (')[0]}", lambda s=sort: at.selectbox(key="f_sort").set_value(s).run(), rows)
    timed("Review: page 40", lambda: at.number_input(key="f_page").set_value(40).run(), rows)
    keep = next(b for b in at.button if (b.key or "").startswith("correct-"))
    timed("Review: a decision (Keep label), 24 cards a page (the default)", lambda: keep.click().run(), rows)
    timed("Review: 48 per page (the most)", lambda: at.selectbox(key="f_size").set_value(48).run(), rows)
    keep = next(b for b in at.button if (b.key or "").startswith("correct-"))
    timed("Review: a decision (Keep label), 48 cards a page", lambda: keep.click().run(), rows)
    timed("Export: open (first)", lambda: at.switch_page("../pages/export.py").run(), rows)
    timed("Export: open again", lambda: at.switch_page("../pages/export.py").run(), rows)
    write = next(b for b in at.button if b.label == "Write CSV")
    started = time.perf_counter()
    timed("Export: Write CSV clicked (the write goes on in the background)", lambda: write.click().run(), rows)
    timed("Export: a rerun while it writes (the progress bar)", lambda: at.run(), rows)
    while not at.success:
        assert not at.error, [e.value for e in at.error]
        time.sleep(0.2)
        at.run()
    rows.append(("Export: the 1M-row CSV on disk, from the click", time.perf_counter() - started))
    load = os.getloadavg()
    print(f"load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"| interaction ({args.home}) | s |")
    print("|---|---|")
    for label, s in rows:
        print(f"| {label} | {s:.2f} |")


if __name__ == "__main__":
    main()
