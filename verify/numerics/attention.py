"""Softmax and normalised linear attention, on a prompt of tokens or in closed form on a Gaussian measure.

On a prompt z_1..z_L (the empirical measure \\hat\\mu_L) and a query z (paper, Sec. 1):

    softmax:  T[\\hat\\mu_L](z) = \\sum_l softmax_l(<K z_l, Q z>) V z_l
    linear:   T_lin[\\hat\\mu_L](z) = (1/L) \\sum_l <K z_l, Q z> V z_l

On mu = N(m, \\Gamma) (Lemma 2.1 and its companion), as fast float64 kernels:

    T[mu](z)     = V m + V \\Gamma K^T Q z
    T_lin[mu](z) = V (\\Gamma + m m^T) K^T Q z

(the statements hold these closed forms in SymPy; ``gaussian-limit`` and ``linear-limit`` each check its kernel
against the SymPy form, ``numpy-kernel``).

The softmax uses log-sum-exp, so scores of any size stay finite:

>>> import numpy as np
>>> K = Q = V = np.eye(1)
>>> softmax_attention(np.array([[1.0], [-1.0]]), np.array([1e4]), K, Q, V)
array([1.])
>>> gaussian_limit(np.eye(2), np.eye(2), np.eye(2), [1.0, 0.0], np.eye(2), [0.0, 2.0])
array([1., 2.])
>>> linear_limit(np.eye(2), np.eye(2), np.eye(2), [1.0, 0.0], np.eye(2), [0.0, 2.0])
array([0., 2.])
"""

from __future__ import annotations

import numpy as np

from verify._validation import as_array, as_matrix, as_vector, attention_inputs
from verify.numerics.montecarlo import Estimate, mean_estimate

__all__ = ["softmax_attention", "linear_attention", "gaussian_limit", "linear_limit", "softmax_weights",
           "softmax_batch_means", "softmax_estimates"]


MAX_BATCH_FLOATS = 1 << 24
"""Largest batch of tokens :func:`softmax_batch_means` holds at once (prompts/batches * L * d floats, 128 MB)."""


def _params(K, Q, V, d: int):
    return (as_matrix(K, "K", (d, d)), as_matrix(Q, "Q", (d, d)), as_matrix(V, "V", (d, d)))


def _tokens_and_query(tokens, z):
    t = as_matrix(tokens, "tokens")
    if t.shape[0] < 1:
        raise ValueError("tokens: a prompt needs L >= 1 tokens")
    if z is None:
        raise TypeError("z: expected an array, got None")
    q = as_array(z, "z")
    if q.ndim == 2:
        if q.shape[1] != t.shape[1]:
            raise ValueError(f"z: expected queries of length {t.shape[1]}, got shape {q.shape}")
    else:
        q = as_vector(q, "z", t.shape[1])
    return t, q


def softmax_weights(scores: np.ndarray, axis: int = 0) -> np.ndarray:
    """softmax along ``axis`` via log-sum-exp: exp(s - max s) / sum exp(s - max s).

    >>> softmax_weights([0.0, 1e6]).tolist()
    [0.0, 1.0]
    """
    s = as_array(scores, "scores")
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_attention(tokens, z, K, Q, V) -> np.ndarray:
    """Finite-prompt softmax attention  \\sum_l softmax_l(z_l^T K^T Q z) V z_l.

    ``tokens`` is L x d; ``z`` is one query (d,) or a batch (n, d), giving (d,) or (n, d).

    >>> I = np.eye(2)
    >>> softmax_attention(np.array([[1.0, 0.0], [0.0, 1.0]]), [0.0, 0.0], I, I, I)  # z = 0: equal weights
    array([0.5, 0.5])
    """
    t, q = _tokens_and_query(tokens, z)
    K, Q, V = _params(K, Q, V, t.shape[1])
    U = K.T @ Q
    scores = t @ (U @ q.T)  # (L,) or (L, n)
    p = softmax_weights(scores, axis=0)
    return (V @ (t.T @ p)).T


def linear_attention(tokens, z, K, Q, V) -> np.ndarray:
    """Normalised linear attention  (1/L) \\sum_l (z_l^T K^T Q z) V z_l  (same shapes as softmax).

    >>> I = np.eye(2)
    >>> linear_attention(np.array([[1.0, 0.0], [0.0, 1.0]]), [1.0, 0.0], I, I, I)  # scores 1 and 0, L = 2
    array([0.5, 0. ])
    """
    t, q = _tokens_and_query(tokens, z)
    K, Q, V = _params(K, Q, V, t.shape[1])
    U = K.T @ Q
    scores = t @ (U @ q.T)
    return (V @ (t.T @ scores) / t.shape[0]).T


def gaussian_limit(K, Q, V, mean, cov, z) -> np.ndarray:
    """Lemma 2.1 (Castin et al. 2025): T^{K,Q,V}[N(m, \\Gamma)](z) = V m + V \\Gamma K^T Q z.

    \\Gamma may be positive semi-definite.

    >>> I = np.eye(2)
    >>> gaussian_limit(I, I, I, [1.0, 0.0], I, [0.0, 1.0])  # V m + V Gamma K^T Q z = (1, 0) + (0, 1)
    array([1., 1.])
    """
    K, Q, V, m, G, zz = attention_inputs(K, Q, V, mean, cov, z)
    return V @ m + V @ G @ K.T @ Q @ zz


def linear_limit(K, Q, V, mean, cov, z) -> np.ndarray:
    """Companion of Lemma 2.1: T_lin^{K,Q,V}[N(m, \\Gamma)](z) = V (\\Gamma + m m^T) K^T Q z.

    >>> I = np.eye(2)
    >>> linear_limit(I, I, I, [1.0, 0.0], I, [0.0, 1.0])  # (I + m m^T) z = (0, 1): the mean term V m is missing
    array([0., 1.])
    """
    K, Q, V, m, G, zz = attention_inputs(K, Q, V, mean, cov, z)
    return V @ (G + np.outer(m, m)) @ K.T @ Q @ zz


def softmax_batch_means(measure, K, Q, V, z, L: int, prompts: int, rng, batches: int = 40) -> np.ndarray:
    r"""Monte Carlo of finite-prompt softmax attention: ``prompts`` independent prompts of L i.i.d. tokens from
    ``measure`` (anything with ``sample(n, rng)`` and ``dim``), each giving T[\hat\mu_L](z); returns the
    ``batches`` x d array of batch means (consecutive prompts grouped into equal batches).

    The batch means are (nearly) Gaussian even when single outputs are not (the softmax weights are
    log-normal under a Gaussian prompt), so  mean +- std/\sqrt{batches}  is an honest standard error.
    Work is chunked by batch (memory ~ prompts/batches * L * d floats, at most :data:`MAX_BATCH_FLOATS`).

    >>> from verify.numerics.measures import Rademacher
    >>> out = softmax_batch_means(Rademacher(1), [[1.0]], [[1.0]], [[1.0]], [2.0], L=50, prompts=40, rng=np.random.default_rng(0), batches=20)
    >>> out.shape, bool(np.all(np.abs(out) <= 1))
    ((20, 1), True)
    """
    from verify._validation import positive_int

    L, prompts, batches = positive_int(L, "L"), positive_int(prompts, "prompts"), positive_int(batches, "batches", 2)
    if prompts % batches:
        raise ValueError(f"prompts: expected a multiple of batches={batches}, got {prompts}")
    d = measure.dim
    K, Q, V = _params(K, Q, V, d)
    zz = as_vector(z, "z", d)
    qz = Q @ zz
    per = prompts // batches
    if per * L * d > MAX_BATCH_FLOATS:
        raise ValueError(f"L: a batch of {per} prompts x L={L} tokens x d={d} is {per * L * d:.3g} floats, above the "
                         f"limit of {MAX_BATCH_FLOATS}; raise batches or lower L")
    out = np.empty((batches, d))
    for b in range(batches):
        t = measure.sample(per * L, rng).reshape(per, L, d)
        s = (t @ K.T) @ qz  # the score <K z_l, Q z> of every token
        w = np.exp(s - s.max(axis=1, keepdims=True))
        tilted = np.einsum("pl,pld->pd", w, t) / w.sum(axis=1)[:, None]
        out[b] = (tilted @ V.T).mean(axis=0)
    return out


def softmax_estimates(measure, K, Q, V, z, L: int, prompts: int, rng, batches: int = 40) -> list[Estimate]:
    r"""Monte Carlo estimates of finite-prompt softmax attention T[\hat\mu_L](z), one per coordinate: the mean of the
    :func:`softmax_batch_means` with its batch-means standard error.

    >>> from verify.numerics.measures import Rademacher
    >>> est = softmax_estimates(Rademacher(1), [[1.0]], [[1.0]], [[1.0]], [2.0], 50, 40, np.random.default_rng(0), 20)
    >>> len(est), est[0].n, abs(est[0].mean) <= 1
    (1, 20, True)
    """
    means = softmax_batch_means(measure, K, Q, V, z, L, prompts, rng, batches)
    return [mean_estimate(col) for col in means.T]
