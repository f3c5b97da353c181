"""What the studio makes once and keeps: a finished session's report, its rendered audio.

:class:`Kept` holds the last few results by key. A result is made off the event loop
the first time it is asked for; everyone asking meanwhile waits for that one making
(a reloaded page, two tabs, a tab asking many times cost one making). A making that
fails is not kept, so the next request tries again.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["Kept"]

T = TypeVar("T")


class Kept(Generic[T]):
    """The last ``limit`` results of a costly making, each made once.

    Parameters
    ----------
    limit : int
        Results kept; the one asked for longest ago goes first.
    on_drop : callable, optional
        Called with each result that is let go (a file to remove), and by :meth:`clear`.
    """

    def __init__(self, limit: int, *, on_drop: Callable[[T], object] | None = None) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        self.limit = limit
        self.on_drop = on_drop
        self._made: OrderedDict[Hashable, asyncio.Future[T]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._made)

    async def get(self, key: Hashable, make: Callable[[], T]) -> T:
        """The result for ``key``, made by ``make()`` in a worker thread if not kept."""
        made = self._made.get(key)
        if made is None:
            made = asyncio.ensure_future(asyncio.to_thread(make))
            self._made[key] = made
            while len(self._made) > self.limit:
                self._drop(self._made.popitem(last=False)[1])
        else:
            self._made.move_to_end(key)
        try:
            return await asyncio.shield(made)  # a request that goes away stops no other
        except Exception:
            if self._made.get(key) is made:
                del self._made[key]  # not kept: the next request tries again
            raise

    def clear(self) -> None:
        """Let every result go."""
        while self._made:
            self._drop(self._made.popitem(last=False)[1])

    def _drop(self, made: asyncio.Future[T]) -> None:
        if self.on_drop is None:
            return
        if not made.done():  # still being made: let it go once it is
            made.add_done_callback(self._drop)
        elif not made.cancelled() and made.exception() is None:
            self.on_drop(made.result())
