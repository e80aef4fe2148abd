"""Softmax and normalised linear attention, on a prompt of tokens or in closed form on a Gaussian measure.

On a prompt z_1..z_L (the empirical measure \\hat\\mu_L) and a query z (paper, Sec. 1):

    softmax:  T[\\hat\\mu_L](z) = \\sum_l softmax_l(<K z_l, Q z>) V z_l
    linear:   T_lin[\\hat\\mu_L](z) = (1/L) \\sum_l <K z_l, Q z> V z_l

On mu = N(m, \\Gamma) (Lemma 2.1 and its companion):

    T[mu](z)     = V m + V \\Gamma K^T Q z
    T_lin[mu](z) = V (\\Gamma + m m^T) K^T Q z

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

from .validation import as_matrix, as_vector, attention_inputs

__all__ = ["softmax_attention", "linear_attention", "gaussian_limit", "linear_limit", "softmax_weights"]


def _params(K, Q, V, d: int):
    return (as_matrix(K, "K", (d, d)), as_matrix(Q, "Q", (d, d)), as_matrix(V, "V", (d, d)))


def _tokens_and_query(tokens, z):
    t = as_matrix(tokens, "tokens")
    if t.shape[0] < 1:
        raise ValueError("tokens: a prompt needs L >= 1 tokens")
    q = np.asarray(z, dtype=float)
    if q.ndim == 2:
        q = as_matrix(q, "z")
        if q.shape[1] != t.shape[1]:
            raise ValueError(f"z: expected queries of length {t.shape[1]}, got shape {q.shape}")
    else:
        q = as_vector(q, "z", t.shape[1])
    return t, q


def softmax_weights(scores: np.ndarray, axis: int = 0) -> np.ndarray:
    """softmax along ``axis`` via log-sum-exp: exp(s - max s) / sum exp(s - max s)."""
    s = np.asarray(scores, dtype=float)
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_attention(tokens, z, K, Q, V) -> np.ndarray:
    """Finite-prompt softmax attention  \\sum_l softmax_l(z_l^T K^T Q z) V z_l.

    ``tokens`` is L x d; ``z`` is one query (d,) or a batch (n, d), giving (d,) or (n, d).
    """
    t, q = _tokens_and_query(tokens, z)
    K, Q, V = _params(K, Q, V, t.shape[1])
    U = K.T @ Q
    scores = t @ (U @ q.T)  # (L,) or (L, n)
    p = softmax_weights(scores, axis=0)
    return (V @ (t.T @ p)).T


def linear_attention(tokens, z, K, Q, V) -> np.ndarray:
    """Normalised linear attention  (1/L) \\sum_l (z_l^T K^T Q z) V z_l  (same shapes as softmax)."""
    t, q = _tokens_and_query(tokens, z)
    K, Q, V = _params(K, Q, V, t.shape[1])
    U = K.T @ Q
    scores = t @ (U @ q.T)
    return (V @ (t.T @ scores) / t.shape[0]).T


def gaussian_limit(K, Q, V, mean, cov, z) -> np.ndarray:
    """Lemma 2.1 (Castin et al. 2025): T^{K,Q,V}[N(m, \\Gamma)](z) = V m + V \\Gamma K^T Q z.

    \\Gamma may be positive semi-definite.
    """
    K, Q, V, m, G, zz = attention_inputs(K, Q, V, mean, cov, z)
    return V @ m + V @ G @ K.T @ Q @ zz


def linear_limit(K, Q, V, mean, cov, z) -> np.ndarray:
    """Companion of Lemma 2.1: T_lin^{K,Q,V}[N(m, \\Gamma)](z) = V (\\Gamma + m m^T) K^T Q z."""
    K, Q, V, m, G, zz = attention_inputs(K, Q, V, mean, cov, z)
    return V @ (G + np.outer(m, m)) @ K.T @ Q @ zz
