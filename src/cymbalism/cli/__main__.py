"""``python -m cymbalism.cli``: the same as the ``cymbalism`` command."""

import sys

from cymbalism.cli import main

if __name__ == "__main__":
    sys.exit(main())
