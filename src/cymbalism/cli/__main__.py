"""``python -m cymbalism.cli``: the same as the ``cymbalism`` command."""

import sys

from cymbalism.cli import main

sys.exit(main())
