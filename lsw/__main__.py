import sys

from lsw.cli import main

sys.exit(main())
