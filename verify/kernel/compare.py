"""The one comparison metric of the toolkit: relative error and agreeing significant digits.

    relative_error(value, reference) = max_i |value_i - ref_i| / max(1, max_i |ref_i|)
    digits_between(value, reference) = -log10(relative_error), capped at the working precision

Values and references are scalars, numpy arrays, mpmath matrices or (nested) lists, compared entry by entry.
**NaN never agrees**: a NaN or an infinity anywhere makes the relative error infinite and the digits 0, so no
threshold can be met by a computation that broke down.

>>> from mpmath import mpf
>>> digits_between([1.0, 2.0], [1.0, 2.0 + 2e-9])
9.0
>>> digits_between(float("nan"), 1.0), digits_between([float("inf"), 1.0], [float("inf"), 1.0])
(0.0, 0.0)
>>> relative_error(mpf(2), mpf("nan"))
mpf('+inf')
>>> digits_between(mpf("1.0000001"), mpf(1), cap=15)
7.0
"""

from __future__ import annotations

import mpmath
import numpy as np
from mpmath import mp

__all__ = ["relative_error", "digits_between", "flat_entries", "is_nan", "all_finite"]


def flat_entries(value) -> list:
    """Entries of a scalar, numpy array, mpmath matrix or list as a flat list (mpmath numbers kept)."""
    if isinstance(value, mpmath.matrix):
        return [value[i, j] for i in range(value.rows) for j in range(value.cols)]
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in flat_entries(v)]
    if isinstance(value, np.ndarray):
        if np.iscomplexobj(value):
            raise TypeError("value: complex values cannot be compared")
        return [float(x) for x in value.ravel()]
    return [value]


def is_nan(x) -> bool:
    """True for NaN, and for anything that is not a real number."""
    try:
        return bool(mpmath.isnan(x))
    except (TypeError, ValueError):
        return True


def all_finite(value) -> bool:
    """Every entry of ``value`` is a finite real number."""
    try:
        return all(not is_nan(x) and bool(mpmath.isfinite(x)) for x in flat_entries(value))
    except (TypeError, ValueError):
        return False


def relative_error(value, reference) -> mpmath.mpf:
    """max_i |value_i - ref_i| / max(1, max_i |ref_i|) at the working precision; ``+inf`` when either side holds
    NaN or an infinity (NaN never counts as agreement); ``ValueError`` when the entry counts differ."""
    v, r = flat_entries(value), flat_entries(reference)
    if len(v) != len(r):
        raise ValueError(f"value: shape differs from the reference ({len(v)} vs {len(r)} entries)")
    if not (all_finite(v) and all_finite(r)):
        return mpmath.mpf("inf")
    v, r = [_mp(a) for a in v], [_mp(b) for b in r]  # an mpf keeps its precision: the difference rounds once
    err = max(abs(a - b) for a, b in zip(v, r))
    scale = max([mpmath.mpf(1)] + [abs(b) for b in r])
    return err / scale


def _mp(x):
    return x if isinstance(x, mpmath.mpf) else mpmath.mpf(x)


def digits_between(value, reference, cap: float | None = None) -> float:
    """Agreeing significant digits  -log10(relative_error), rounded to 0.01 and capped at ``cap`` (default the
    working precision); 0 when either side holds NaN or an infinity."""
    top = float(mp.dps if cap is None else cap)
    rel = relative_error(value, reference)
    if rel == 0:
        return top
    if mpmath.isinf(rel):
        return 0.0
    return max(0.0, min(top, round(float(-mpmath.log10(rel)), 2)))
