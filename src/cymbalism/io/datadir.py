"""Where cymbalism keeps what it learns on this machine: calibrated kits, and the way
from a room's speakers to each microphone."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATA_DIR_ENV", "data_dir"]

#: Set it to keep everything cymbalism learns in another folder (tests use one each).
DATA_DIR_ENV = "CYMBALISM_DATA_DIR"


def data_dir(*parts: str) -> Path:
    """``$CYMBALISM_DATA_DIR``, or the user's data folder, joined with ``parts``.

    Nothing is created: whoever writes makes the folder.
    """
    root = os.environ.get(DATA_DIR_ENV)
    if root:
        return Path(root).joinpath(*parts)
    import platformdirs

    return Path(platformdirs.user_data_dir("cymbalism", appauthor=False)).joinpath(*parts)
