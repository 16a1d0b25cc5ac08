"""``python -m bootfs_tools``: the ``bootfs`` command line (see ``cli``)."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
