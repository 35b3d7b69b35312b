"""The ``tryon`` command line (``tryon --help``); :func:`tryon.cli.main.main` is the entry point."""
