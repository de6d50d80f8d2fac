"""``python -m ember``: the ``ember`` command line."""

from __future__ import annotations

from ember.train.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
