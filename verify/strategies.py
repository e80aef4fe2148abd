"""Generators of valid random inputs (in the spirit of hypothesis strategies, with explicit generators).

Every function takes a ``numpy.random.Generator`` and returns inputs that satisfy the hypotheses of the
statement they feed: symmetric positive-definite covariances with a bounded condition number, parameter
matrices of moderate size (so that exponential tilts stay within what quadrature resolves to 30+ digits).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> S = random_covariance(3, rng)
>>> bool(np.allclose(S, S.T)) and bool(np.linalg.eigvalsh(S).min() > 0)
True
>>> sorted(attention_point(2, rng))
['Gamma', 'K', 'Q', 'V', 'm', 'z']
"""

from __future__ import annotations

import numpy as np

from .measures import as_generator
from .validation import positive_float, positive_int

__all__ = ["random_covariance", "random_matrix", "attention_point"]


def random_covariance(d: int, rng, floor: float = 0.3) -> np.ndarray:
    """A random SPD matrix  A A^T / d + floor * I  with A standard Gaussian (eigenvalues >= floor)."""
    d = positive_int(d, "d")
    floor = positive_float(floor, "floor")
    rng = as_generator(rng)
    A = rng.standard_normal((d, d))
    S = A @ A.T / d + floor * np.eye(d)
    return (S + S.T) / 2


def random_matrix(d: int, rng, scale: float = 1.0) -> np.ndarray:
    """A d x d matrix with i.i.d. N(0, scale^2) entries (generic: not symmetric)."""
    d = positive_int(d, "d")
    return positive_float(scale, "scale") * as_generator(rng).standard_normal((d, d))


def attention_point(d: int, rng, scale: float = 0.6) -> dict:
    """Random parameters of Lemma 2.1: K, Q, V (entries ~ N(0, scale^2)), m, Gamma (SPD) and a query z."""
    rng = as_generator(rng)
    return {
        "K": random_matrix(d, rng, scale),
        "Q": random_matrix(d, rng, scale),
        "V": random_matrix(d, rng, 1.0),
        "m": rng.standard_normal(d),
        "Gamma": random_covariance(d, rng),
        "z": rng.standard_normal(d),
    }
