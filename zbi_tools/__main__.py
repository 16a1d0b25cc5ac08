"""``python -m zbi_tools``: the zbi command (see zbi_tools.cli)."""

import sys

from zbi_tools.cli import main

sys.exit(main())
