"""Checks at the door for arrays of times (mir_eval style): say what is wrong and why."""

from __future__ import annotations

import numpy as np

__all__ = ["MAX_PLAUSIBLE_SEC", "validate_times"]

#: Longer than any session we expect (six hours). Larger times were probably given in
#: milliseconds or ticks instead of seconds.
MAX_PLAUSIBLE_SEC = 6 * 3600.0


def validate_times(
    values: np.ndarray, name: str = "onset_sec", *, sorted_: bool = True, unit: str = "seconds"
) -> np.ndarray:
    """Return ``values`` as a 1-D float64 array after checking it.

    Parameters
    ----------
    values : array-like [shape=(n,)]
        Times in seconds (or quarter notes, with ``unit="quarter notes"``).
    name : str
        The argument's name, used in the error message.
    sorted_ : bool
        Require non-decreasing order.
    unit : str
        The unit the values should be in, for the message.

    Returns
    -------
    values : np.ndarray [shape=(n,), float64]

    Raises
    ------
    ValueError
        If the array is not 1-D, holds NaN or infinity, is not sorted, or holds a
        value too large to be seconds.
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of {unit}, got shape {arr.shape}")
    if arr.size == 0:
        return arr
    if not np.isfinite(arr).all():
        bad = arr[~np.isfinite(arr)][0]
        raise ValueError(f"{name} holds a non-finite value ({bad}); every time must be finite")
    if sorted_ and arr.size > 1:
        steps = np.diff(arr)
        if (steps < 0).any():
            i = int(np.argmax(steps < 0))
            raise ValueError(
                f"{name} must be sorted: {name}[{i + 1}] = {arr[i + 1]} comes after "
                f"{name}[{i}] = {arr[i]}"
            )
    if unit == "seconds" and np.abs(arr).max() > MAX_PLAUSIBLE_SEC:
        raise ValueError(
            f"{name} holds a time of {np.abs(arr).max():g} s, longer than any session "
            f"(did you supply times in milliseconds or ticks instead of seconds?)"
        )
    return arr
