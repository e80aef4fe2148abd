"""Generators of valid random inputs: plain functions of a numpy Generator, and Hypothesis strategies.

The plain functions (:func:`random_covariance`, :func:`random_matrix`, :func:`attention_point`) take a
``numpy.random.Generator`` and return inputs that satisfy the hypotheses of the statement they feed:
symmetric positive-definite covariances with a bounded condition number, parameter matrices of moderate size
(so that exponential tilts stay within what quadrature resolves to 30+ digits).

The Hypothesis strategies (need the ``test`` extra, ``pip install -e '.[test]'``; imported lazily) generate
the hard cases and shrink failures to small counterexamples:

* :func:`spd_covariances` -- Q diag(lambda) Q^T with eigenvalues log-uniform in [1e-6, 1e6] (condition numbers
  up to 1e12) and a random rotation Q, d up to 10;
* :func:`means`, :func:`kqv_triples` -- vectors and (K, Q, V) triples (entries 0 or of magnitude >= 1e-30 of
  their scale, so that no product underflows and relative rounding bounds hold);
* :func:`attention_points` -- (K, Q, V, m, Gamma, z) of Lemma 2.1 with the score slope max_k |(B^T K^T Q z)_k|
  (B B^T = Gamma) drawn in [0, 1e3];
* :func:`icl_points` -- (U, V, Sigma, s) of the in-context regression of Sec. 5.

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

from verify.numerics.measures import as_generator
from verify._validation import nonnegative_float, positive_float, positive_int

__all__ = ["random_covariance", "random_matrix", "attention_point", "spd_covariances", "means", "kqv_triples",
           "attention_points", "icl_points"]


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


# ------------------------------------------------------------------------------------ Hypothesis strategies


def _hyp():
    """(strategies, extra.numpy) of Hypothesis, or an ImportError saying how to get it."""
    try:
        from hypothesis import strategies as st
        from hypothesis.extra import numpy as hnp
    except ImportError as exc:  # pragma: no cover - the test extra is installed in CI
        raise ImportError("verify.numerics.strategies: the Hypothesis strategies need hypothesis "
                          "(pip install -e '.[test]')") from exc
    return st, hnp


def _dims(d, max_d: int):
    st, _ = _hyp()
    if d is None:
        return st.integers(1, positive_int(max_d, "max_d"))
    return st.just(positive_int(d, "d"))


def _entries(scale: float):
    """Reals in [-scale, scale] that are 0 or at least 1e-30 scale in magnitude: products of a few of them never
    underflow, so float64 rounding bounds (relative) hold for every generated input."""
    st, _ = _hyp()
    tiny = scale * 1e-30
    return st.one_of(st.just(0.0), st.floats(tiny, scale), st.floats(-scale, -tiny))


def _rotation(R: np.ndarray) -> np.ndarray:
    """The orthogonal factor of R = Q T (Householder QR: orthogonal even when R is singular)."""
    Q, T = np.linalg.qr(R)
    return Q * np.where(np.diag(T) < 0, -1.0, 1.0)


def spd_covariances(d: int | None = None, *, max_d: int = 10, min_eig: float = 1e-6, max_eig: float = 1e6):
    r"""Strategy for symmetric positive-definite d x d matrices  \Sigma = Q diag(\lambda) Q^T:  log10 \lambda_i
    uniform in [log10 ``min_eig``, log10 ``max_eig``] (condition numbers up to max_eig / min_eig), Q the
    orthogonal factor of a matrix with entries in [-1, 1] (a random rotation; shrinks to Q = I, a diagonal
    \Sigma).  ``d`` fixed, or drawn in [1, ``max_d``].  The result is exactly symmetric; rounding moves the
    eigenvalues by at most ~ d eps max_eig (2e-9 at the defaults), far below ``min_eig``.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20, derandomize=True, database=None)
    ... @given(spd_covariances(3))
    ... def spd(S):
    ...     assert np.array_equal(S, S.T) and np.linalg.eigvalsh(S).min() > 0
    >>> spd()
    """
    st, hnp = _hyp()
    lo, hi = positive_float(min_eig, "min_eig"), positive_float(max_eig, "max_eig")
    if not lo <= hi:
        raise ValueError(f"max_eig: must be >= min_eig = {lo:g}, got {hi:g}")

    @st.composite
    def build(draw):
        k = draw(_dims(d, max_d))
        logs = draw(st.lists(st.floats(np.log10(lo), np.log10(hi)), min_size=k, max_size=k))
        R = draw(hnp.arrays(float, (k, k), elements=_entries(1.0)))
        Q = _rotation(R)
        S = (Q * 10.0 ** np.array(logs)) @ Q.T
        return (S + S.T) / 2

    return build()


def means(d: int, scale: float = 10.0):
    """Strategy for length-``d`` real vectors with entries in [-scale, scale]."""
    st, hnp = _hyp()
    scale = positive_float(scale, "scale")
    return hnp.arrays(float, (positive_int(d, "d"),), elements=_entries(scale))


def kqv_triples(d: int, scale: float = 1.0):
    """Strategy for (K, Q, V): three generic (not symmetric) d x d matrices with entries in [-scale, scale]."""
    st, hnp = _hyp()
    scale = positive_float(scale, "scale")
    mat = hnp.arrays(float, (positive_int(d, "d"),) * 2, elements=_entries(scale))
    return st.tuples(mat, mat, mat)


def attention_points(*, max_d: int = 10, max_score: float = 1e3, min_eig: float = 1e-6, max_eig: float = 1e6,
                     mean_scale: float = 10.0):
    r"""Strategy for dicts (K, Q, V, m, Gamma, z) of Lemma 2.1: d in [1, ``max_d``], \Gamma from
    :func:`spd_covariances`, K rescaled so that the score slope  max_k |(B^T K^T Q z)_k|  (B = chol \Gamma: the
    score's standard deviation per whitened coordinate) equals a drawn ``score`` in [0, ``max_score``].

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10, derandomize=True, database=None)
    ... @given(attention_points(max_d=4))
    ... def slope(p):
    ...     b = np.linalg.cholesky(p["Gamma"]).T @ p["K"].T @ p["Q"] @ p["z"]
    ...     assert np.max(np.abs(b)) <= 1e3 * (1 + 1e-12)
    >>> slope()
    """
    st, hnp = _hyp()
    max_score = nonnegative_float(max_score, "max_score")

    @st.composite
    def build(draw):
        k = draw(st.integers(1, positive_int(max_d, "max_d")))
        G = draw(spd_covariances(k, min_eig=min_eig, max_eig=max_eig))
        K, Q, V = draw(kqv_triples(k))
        m, z = draw(means(k, mean_scale)), draw(means(k, 1.0))
        score = draw(st.one_of(st.just(0.0), st.floats(min(1e-6, max_score), max_score)))
        b = np.linalg.cholesky(G).T @ (K.T @ (Q @ z))
        top = float(np.max(np.abs(b)))
        if top > 0:
            K = K * (score / top)
        return {"K": K, "Q": Q, "V": V, "m": m, "Gamma": G, "z": z, "score": score}

    return build()


def icl_points(*, max_d: int = 6, scale: float = 1.0, min_eig: float = 1e-6, max_eig: float = 1e6,
               max_noise: float = 1.0):
    r"""Strategy for dicts (U, V, Sigma, s) of the in-context regression (Sec. 5): U, V generic
    (d+1) x (d+1) with entries in [-scale, scale], \Sigma from :func:`spd_covariances` (d in [1, ``max_d``]),
    noise s in [0, ``max_noise``] (0 half the time: the paper's noiseless model)."""
    st, hnp = _hyp()
    scale = positive_float(scale, "scale")

    @st.composite
    def build(draw):
        k = draw(st.integers(1, positive_int(max_d, "max_d")))
        S = draw(spd_covariances(k, min_eig=min_eig, max_eig=max_eig))
        mat = hnp.arrays(float, (k + 1, k + 1), elements=_entries(scale))
        noise = draw(st.one_of(st.just(0.0), st.floats(0.0, nonnegative_float(max_noise, "max_noise"))))
        return {"U": draw(mat), "V": draw(mat), "Sigma": S, "s": noise}

    return build()
