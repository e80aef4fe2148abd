"""Input validation shared by the engine.

Every public function of the engine funnels its arguments through these helpers, so that bad input
fails early with a ``ValueError``/``TypeError`` that names the parameter and says what was expected.
Nothing downstream ever sees a NaN it did not compute.

>>> as_matrix([[1, 0], [0, 1]], "K").shape
(2, 2)
>>> as_matrix([[1, 0]], "K", shape=(2, 2))
Traceback (most recent call last):
...
ValueError: K: expected shape (2, 2), got (1, 2)
>>> covariance([[1, 2], [0, 1]], "cov")
Traceback (most recent call last):
...
ValueError: cov: covariance must be symmetric (max asymmetry 2)
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "as_array",
    "as_matrix",
    "as_vector",
    "covariance",
    "positive_int",
    "seed_value",
    "positive_float",
    "real",
    "nonnegative_float",
    "attention_inputs",
]


def as_array(value, name: str, ndim: int | None = None) -> np.ndarray:
    """Return ``value`` as a finite float64 array, or raise naming ``name``."""
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name}: expected an array of numbers, got {type(value).__name__}")
    if not isinstance(value, np.ndarray) and hasattr(value, "tolist"):
        value = value.tolist()  # mpmath / SymPy matrices: nested lists (numpy would flatten them)
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected an array of numbers ({exc})") from None
    kind = raw.dtype.kind
    if kind == "c":
        raise TypeError(f"{name}: expected real numbers, got complex values (dtype {raw.dtype})")
    if kind in "bUSVMm":
        raise TypeError(f"{name}: expected an array of real numbers, got dtype {raw.dtype}")
    if kind == "O":
        for x in raw.ravel():
            if isinstance(x, (bool, str, bytes)) or x is None or not isinstance(x, numbers.Real):
                raise TypeError(f"{name}: expected real numbers, got an entry of type {type(x).__name__}")
    try:
        arr = raw.astype(float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected an array of numbers ({exc})") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-d array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or infinite entries")
    return arr


def as_matrix(value, name: str, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A finite 2-d float array, optionally of a required ``shape``."""
    arr = as_array(value, name)
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a matrix (2-d array), got shape {arr.shape}")
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)}, got {arr.shape}")
    return arr


def as_vector(value, name: str, size: int | None = None) -> np.ndarray:
    """A finite 1-d float array (a column ``(n, 1)`` is accepted and flattened)."""
    arr = as_array(value, name)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a vector (1-d array), got shape {arr.shape}")
    if size is not None and arr.shape[0] != size:
        raise ValueError(f"{name}: expected length {size}, got {arr.shape[0]}")
    return arr


def covariance(value, name: str, size: int | None = None, *, allow_singular: bool = False) -> np.ndarray:
    """A symmetric positive-definite (or, with ``allow_singular``, semi-definite) matrix.

    Both tests are relative to the matrix's own scale, so 1e-15 I is positive definite and a matrix with
    condition number above 1e14 is refused as numerically singular.

    >>> covariance(1e-15 * np.eye(2), "cov").shape
    (2, 2)
    >>> covariance([[1.0, 0.0], [0.0, 1e-16]], "Sigma")
    Traceback (most recent call last):
    ...
    ValueError: Sigma: covariance must be positive definite (min eigenvalue 1e-16)
    """
    arr = as_matrix(value, name)
    if arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name}: covariance must be square, got shape {arr.shape}")
    if size is not None and arr.shape[0] != size:
        raise ValueError(f"{name}: expected a {size}x{size} covariance, got {arr.shape}")
    scale = float(np.max(np.abs(arr))) if arr.size else 0.0
    asym = float(np.max(np.abs(arr - arr.T))) if arr.size else 0.0
    if asym > 1e-12 * scale:
        raise ValueError(f"{name}: covariance must be symmetric (max asymmetry {asym:.3g})")
    eigs = np.linalg.eigvalsh((arr + arr.T) / 2)
    eig_min, eig_max = float(eigs.min()), float(np.abs(eigs).max())
    rel = eig_min / eig_max if eig_max > 0 else 0.0
    if allow_singular:
        if eig_min < -1e-12 * eig_max:
            raise ValueError(f"{name}: covariance must be positive semi-definite (min eigenvalue {eig_min:.3g})")
    elif not rel > 1e-14:
        raise ValueError(f"{name}: covariance must be positive definite (min eigenvalue {eig_min:.3g})")
    return arr


def positive_int(value, name: str, minimum: int = 1) -> int:
    """An integer ``>= minimum`` (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {value}")
    return int(value)


def seed_value(value, name: str = "seed") -> int:
    """A master seed: a non-negative integer (bools and floats refused), named in the error.

    >>> seed_value(3)
    3
    >>> seed_value(-1, "--seed")
    Traceback (most recent call last):
    ...
    ValueError: --seed: expected a non-negative integer, got -1
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected a non-negative integer, got {type(value).__name__} {value!r}")
    if value < 0:
        raise ValueError(f"{name}: expected a non-negative integer, got {value}")
    return int(value)


def real(value, name: str) -> float:
    """A finite real scalar (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__}")
    x = float(value)
    if not np.isfinite(x):
        raise ValueError(f"{name}: must be finite, got {value}")
    return x


def positive_float(value, name: str) -> float:
    """A finite float ``> 0``."""
    x = nonnegative_float(value, name)
    if x == 0:
        raise ValueError(f"{name}: must be > 0, got {value}")
    return x


def nonnegative_float(value, name: str) -> float:
    """A finite float ``>= 0``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__}")
    x = float(value)
    if not np.isfinite(x):
        raise ValueError(f"{name}: must be finite, got {value}")
    if x < 0:
        raise ValueError(f"{name}: must be >= 0, got {value}")
    return x


def attention_inputs(K, Q, V, mean, cov, z):
    """Validated float64 copies of (K, Q, V, m, \\Gamma, z) for attention on N(m, \\Gamma): d x d matrices,
    length-d vectors, \\Gamma symmetric positive semi-definite (Lemma 2.1 holds for every PSD \\Gamma).

    The dimension d is that of the measure when ``mean`` and ``cov`` agree on it, otherwise the one most of
    the six arguments agree on; the argument of another size is the one named (a mean of the wrong length
    blames ``mean``, not ``cov``).

    >>> I = np.eye(2)
    >>> attention_inputs(I, I, I, [1.0, 2.0, 3.0], I, [0.0, 1.0])
    Traceback (most recent call last):
    ...
    ValueError: mean: expected length 2, got 3
    """
    m, zz = as_vector(mean, "mean"), as_vector(z, "z")
    mats = [(as_matrix(M, name), name) for M, name in ((K, "K"), (Q, "Q"), (V, "V"), (cov, "cov"))]
    sizes = [m.shape[0], zz.shape[0]] + [A.shape[0] for A, _ in mats if A.shape[0] == A.shape[1]]
    counts = {s: sizes.count(s) for s in sizes}
    d = max(counts, key=lambda s: (counts[s], -sizes.index(s)))  # ties: the first one given (the mean)
    if mats[3][0].shape == (m.shape[0], m.shape[0]):
        d = m.shape[0]  # the measure N(m, cov) fixes the token space
    m = as_vector(m, "mean", d)
    G = covariance(mats[3][0], "cov", d, allow_singular=True)
    K, Q, V = (as_matrix(A, name, (d, d)) for A, name in mats[:3])
    return K, Q, V, m, G, as_vector(zz, "z", d)
