"""The ``ember`` command line (being written)."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ember`` console script."""
    raise SystemExit("ember: the command line is being written")
