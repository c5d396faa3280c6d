"""``python -m dispatch``: the same as the ``dispatch`` command."""

from dispatch.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
