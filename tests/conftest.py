import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LSW_CACHE_DIR", str(ROOT / ".lsw" / "test-cache"))
