"""Entry point of `python -m harness` (the same as the `zhb` command); see harness.cli."""

import sys

from harness.cli import main

sys.exit(main(prog="python -m harness"))
