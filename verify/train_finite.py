r"""Training at finite prompt length L (issue 9, items 2-3; Theorem 4.3 of the paper): the batch risk R_L and
its analytic gradient in (U, V), gradient descent on R_L with fresh prompts each step, and its distance to the
L = \infty run (:mod:`verify.train`).

**Model** (paper Eq. (7); :mod:`verify.icl`).  Per prompt b of a batch, w ~ N(0, w_scale^2 I_d),
x_l, x_q ~ N(0, \Sigma), y_l = w^T x_l + s\epsilon_l, y_q = w^T x_q + s\epsilon_q (s = ``noise``).  With
z_l = (x_l, y_l), q = (x_q, 0) in R^{d+1}:

    scores  s_l = z_l^T U q,     values  v_l = (V z_l)_{d+1},
    softmax prediction   p_L = \sum_l \pi_l v_l,        \pi = softmax(s)   (log-sum-exp),
    linear prediction    p_L = (1/L) \sum_l s_l v_l     (normalised linear attention),
    batch risk           R = 1/(2B) \sum_b (p_L^{(b)} - y_q^{(b)})^2.

**Gradient** (softmax).  \partial \pi_l / \partial s_m = \pi_l(\delta_{lm} - \pi_m), hence
\partial p_L / \partial s_l = \pi_l (v_l - p_L)  (the centring term -p_L comes from the softmax normaliser) and,
with e_b = (p_L^{(b)} - y_q^{(b)}) / B,

    \partial R / \partial U = \sum_b e_b (\sum_l \pi_l (v_l - p_L) z_l) q^T,
    \partial R / \partial V = e_{d+1} (\sum_b e_b \sum_l \pi_l z_l)^T          (only row d+1 is non-zero).

Linear attention: \partial p_L/\partial U = (1/L) \sum_l v_l z_l q^T,  \partial p_L/\partial V = e_{d+1} ((1/L)\sum_l s_l z_l)^T.

The tokens are never stacked into a (B, L, d+1) array: x and y parts are kept apart, so the working memory is
O(B L d) for the covariates plus O(B L) per score/value/weight array.

>>> rng = np.random.default_rng(0)
>>> X, Y, Xq, Yq = sample_prompts(toeplitz_sigma(2, 0.5), 4, 3, rng)
>>> X.shape, Y.shape, Xq.shape, Yq.shape
((3, 4, 2), (3, 4), (3, 2), (3,))
>>> U, V = bayes_point(toeplitz_sigma(2, 0.5))
>>> r, dU, dV = linear_risk_and_grad(U, V, X, Y, Xq, Yq)
>>> dU.shape, float(np.abs(dV[:2]).max())
((3, 3), 0.0)
>>> sample_prompts(toeplitz_sigma(2, 0.5), 0, 3, rng)
Traceback (most recent call last):
...
ValueError: L: must be >= 1, got 0
"""

from __future__ import annotations

import numpy as np

from .icl import bayes_point, toeplitz_sigma  # noqa: F401  (doctest names)
from .measures import as_generator
from .validation import as_array, as_matrix, covariance, nonnegative_float, positive_float, positive_int

__all__ = [
    "sample_prompts",
    "softmax_risk_and_grad",
    "linear_risk_and_grad",
    "risk_definition",
    "fd_gradient_error",
    "GRADIENT_SLIPS",
]

MAX_BATCH_TOKENS = 1 << 26
"""Largest B * L of one batch (about 0.5 GB per float64 working array): a guard against a typo."""


# ----------------------------------------------------------------------------------------------- prompts


def sample_prompts(Sigma, L, batch, rng, noise=0.0, w_scale=1.0):
    r"""A batch of ``batch`` prompts of length ``L`` from the in-context regression model.

    Returns ``(X, Y, Xq, Yq)`` of shapes (B, L, d), (B, L), (B, d), (B,):  w ~ N(0, w_scale^2 I_d),
    x ~ N(0, \Sigma) (x = C g with C = chol(\Sigma)), y = w^T x + noise * \epsilon on prompt and query labels.
    Draw order from ``rng`` (a Generator, an int or a SeedSequence): w, prompt covariates, query covariates,
    then (only when noise > 0) prompt and query label noise, so the noise level never shifts the covariates.
    """
    S = covariance(Sigma, "Sigma")
    d = S.shape[0]
    L = positive_int(L, "L")
    B = positive_int(batch, "batch")
    if B * L > MAX_BATCH_TOKENS:
        raise ValueError(f"batch: batch * L must be <= {MAX_BATCH_TOKENS}, got {B * L}")
    s = nonnegative_float(noise, "noise")
    ws = positive_float(w_scale, "w_scale")
    gen = as_generator(rng)
    C = np.linalg.cholesky(S)
    W = ws * gen.standard_normal((B, d))
    X = gen.standard_normal((B, L, d)) @ C.T
    Xq = gen.standard_normal((B, d)) @ C.T
    Y = np.einsum("bld,bd->bl", X, W)
    Yq = np.einsum("bd,bd->b", Xq, W)
    if s > 0.0:
        Y += s * gen.standard_normal((B, L))
        Yq += s * gen.standard_normal(B)
    return X, Y, Xq, Yq


def _batch_inputs(U, V, X, Y, Xq, Yq):
    X = as_array(X, "X", ndim=3)
    B, L, d = X.shape
    if B < 1 or L < 1 or d < 1:
        raise ValueError(f"X: expected a non-empty (B, L, d) array, got shape {X.shape}")
    Y = as_array(Y, "Y", ndim=2)
    if Y.shape != (B, L):
        raise ValueError(f"Y: expected shape {(B, L)}, got {Y.shape}")
    Xq = as_matrix(Xq, "Xq", shape=(B, d))
    Yq = as_array(Yq, "Yq", ndim=1)
    if Yq.shape != (B,):
        raise ValueError(f"Yq: expected shape {(B,)}, got {Yq.shape}")
    U = as_matrix(U, "U", shape=(d + 1, d + 1))
    V = as_matrix(V, "V", shape=(d + 1, d + 1))
    return U, V, X, Y, Xq, Yq


def _scores_values(U, V, X, Y, Xq):
    """h_b = U q_b (rows (B, d+1)), scores s = X h[:d] + Y h_d, values v = X V[d,:d] + Y V[d,d]."""
    B, L, d = X.shape
    H = Xq @ U[:, :d].T  # (B, d+1): U (x_q, 0)
    s = np.matmul(X, H[:, :d, None])[:, :, 0]
    s += Y * H[:, d:]
    v = np.einsum("bld,d->bl", X, V[d, :d])
    v += V[d, d] * Y
    return s, v


def _grads(X, Y, Xq, cU, cV, d: int):
    r"""dU = \sum_b (\sum_l cU_{bl} z_{bl}) q_b^T,  dV = e_{d+1} (\sum_{b,l} cV_{bl} z_{bl})^T."""
    B, L, _ = X.shape
    G = np.empty((B, d + 1))
    G[:, :d] = np.matmul(cU[:, None, :], X)[:, 0, :]
    G[:, d] = np.einsum("bl,bl->b", cU, Y)
    dU = np.zeros((d + 1, d + 1))
    dU[:, :d] = G.T @ Xq
    dV = np.zeros((d + 1, d + 1))
    dV[d, :d] = np.einsum("bl,bld->d", cV, X)
    dV[d, d] = np.einsum("bl,bl->", cV, Y)
    return dU, dV


def softmax_risk_and_grad(U, V, X, Y, Xq, Yq):
    r"""Batch risk  R = 1/(2B) \sum_b (p_L - y_q)^2  of softmax attention and its gradient (dR/dU, dR/dV).

    p_L = \sum_l \pi_l v_l, \pi = softmax(z_l^T U q) by log-sum-exp;  \partial p_L/\partial s_l = \pi_l (v_l - p_L).
    """
    return _softmax_core(*_batch_inputs(U, V, X, Y, Xq, Yq))


def linear_risk_and_grad(U, V, X, Y, Xq, Yq):
    r"""Batch risk of normalised linear attention  p_L = (1/L) \sum_l s_l v_l  and its gradient (dR/dU, dR/dV)."""
    return _linear_core(*_batch_inputs(U, V, X, Y, Xq, Yq))


def _softmax_core(U, V, X, Y, Xq, Yq):
    """:func:`softmax_risk_and_grad` on validated float arrays (the training loop's batches are valid by construction)."""
    B, L, d = X.shape
    s, v = _scores_values(U, V, X, Y, Xq)
    s -= s.max(axis=1, keepdims=True)
    pi = np.exp(s, out=s)
    pi /= pi.sum(axis=1, keepdims=True)
    pred = np.einsum("bl,bl->b", pi, v)
    res = pred - Yq
    risk = 0.5 * float(res @ res) / B
    e = res / B
    cV = pi * e[:, None]
    v -= pred[:, None]
    v *= cV
    dU, dV = _grads(X, Y, Xq, v, cV, d)
    return risk, dU, dV


def _linear_core(U, V, X, Y, Xq, Yq):
    """:func:`linear_risk_and_grad` on validated float arrays."""
    B, L, d = X.shape
    s, v = _scores_values(U, V, X, Y, Xq)
    pred = np.einsum("bl,bl->b", s, v) / L
    res = pred - Yq
    risk = 0.5 * float(res @ res) / B
    e = res / (B * L)
    dU, dV = _grads(X, Y, Xq, v * e[:, None], s * e[:, None], d)
    return risk, dU, dV


# ----------------------------------------------------------------------------------------------- references, slips


def risk_definition(U, V, X, Y, Xq, Yq, attention: str = "softmax") -> float:
    r"""The batch risk from its definition, token by token: Z_b = [X_b, Y_b] (L x (d+1)), q_b = (x_q, 0),
    scores Z_b U q_b, values Z_b V^T e_{d+1}, weights softmax (max-shifted) or s / L.  The reference of the
    finite-difference check: it shares no code with :func:`softmax_risk_and_grad`."""
    if attention not in ("softmax", "linear"):
        raise ValueError(f"attention: expected 'softmax' or 'linear', got {attention!r}")
    U, V, X, Y, Xq, Yq = _batch_inputs(U, V, X, Y, Xq, Yq)
    B, L, d = X.shape
    Z = np.concatenate([X, Y[:, :, None]], axis=2)
    Q = np.concatenate([Xq, np.zeros((B, 1))], axis=1)
    total = 0.0
    for b in range(B):
        sc = Z[b] @ (U @ Q[b])
        val = Z[b] @ V[d]
        if attention == "softmax":
            wts = np.exp(sc - sc.max())
            wts = wts / wts.sum()
        else:
            wts = sc / L
        total += (wts @ val - Yq[b]) ** 2
    return 0.5 * total / B


def fd_gradient_error(risk_and_grad, U, V, X, Y, Xq, Yq, *, attention: str = "softmax", h: float = 1e-5) -> float:
    r"""max_{ij} |G_{ij} - G^{FD}_{ij}| / max_{ij} |G^{FD}_{ij}| over both (d+1)x(d+1) blocks, G from ``risk_and_grad``,
    G^{FD} by central differences (step ``h``) of :func:`risk_definition`.  NaN when the gradient is not finite."""
    h = positive_float(h, "h")
    U, V, X, Y, Xq, Yq = _batch_inputs(U, V, X, Y, Xq, Yq)
    _, dU, dV = risk_and_grad(U, V, X, Y, Xq, Yq)
    got = np.concatenate([np.ravel(dU), np.ravel(dV)])
    fd = np.empty_like(got)
    n = U.size
    for k in range(2 * n):
        P = [U.copy(), V.copy()]
        M, idx = P[k // n], np.unravel_index(k % n, U.shape)
        M[idx] += h
        up = risk_definition(P[0], P[1], X, Y, Xq, Yq, attention)
        M[idx] -= 2 * h
        down = risk_definition(P[0], P[1], X, Y, Xq, Yq, attention)
        fd[k] = (up - down) / (2 * h)
    if not np.all(np.isfinite(got)):
        return float("nan")
    scale = float(np.abs(fd).max())
    return float(np.abs(got - fd).max() / scale) if scale > 0 else float(np.abs(got).max())


def _uncentred(U, V, X, Y, Xq, Yq):
    """Slip: dp/ds_l = pi_l v_l (the softmax normaliser's -p_L forgotten)."""
    U, V, X, Y, Xq, Yq = _batch_inputs(U, V, X, Y, Xq, Yq)
    B, L, d = X.shape
    s, v = _scores_values(U, V, X, Y, Xq)
    pi = np.exp(s - s.max(axis=1, keepdims=True))
    pi /= pi.sum(axis=1, keepdims=True)
    pred = np.einsum("bl,bl->b", pi, v)
    res = pred - Yq
    cV = pi * (res / B)[:, None]
    dU, dV = _grads(X, Y, Xq, cV * v, cV, d)
    return 0.5 * float(res @ res) / B, dU, dV


def _transposed(U, V, X, Y, Xq, Yq):
    """Slip: dR/dU transposed (z q^T written q z^T)."""
    r, dU, dV = softmax_risk_and_grad(U, V, X, Y, Xq, Yq)
    return r, dU.T, dV


def _unhalved(U, V, X, Y, Xq, Yq):
    """Slip: the gradient of (p - y)^2 / B without the 1/2 (twice the true gradient)."""
    r, dU, dV = softmax_risk_and_grad(U, V, X, Y, Xq, Yq)
    return r, 2 * dU, 2 * dV


GRADIENT_SLIPS = {"uncentred": _uncentred, "transposed": _transposed, "unhalved": _unhalved}
"""Planted wrong gradients of the softmax batch risk (each keeps the right risk value)."""
