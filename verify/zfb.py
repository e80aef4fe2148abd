r"""Zhang, Frei & Bartlett (2024), "Trained Transformers Learn Linear Models In-Context": the numerics.

Setting (ZFB Sec. 3).  Per prompt  w ~ N(0, I_d),  x_i, x_q ~ N(0, \Lambda),  y_i = w^T x_i (+ \epsilon_i),
embedding with the query column and a label slot 0,

    E = [[x_1 ... x_n  x_q], [y_1 ... y_n  0]]  in R^{(d+1) x (n+1)},

and the linear self-attention layer (ZFB eq. (3.3)), normalised by the number n of prompt tokens,

    f_LSA(E; \theta) = E + W^{PV} E (E^T W^{KQ} E) / n,      \hat y_q = [f_LSA(E; \theta)]_{d+1, n+1}.

Training prompts have n = N tokens.  The global minimum reached by gradient flow (ZFB Theorem 4.1) is

    \Gamma = \Gamma_N = (1 + 1/N) \Lambda + tr(\Lambda)/N I_d,
    W^{KQ}_* = tr(\Gamma^{-2})^{-1/4} diag(\Gamma^{-1}, 0),     W^{PV}_* = tr(\Gamma^{-2})^{1/4} e_{d+1} e_{d+1}^T,

and on a test prompt of M tokens the output is the *learned predictor* (ZFB eqs. (4.2)-(4.3))

    \hat y_q = x_q^T \Gamma^{-1} (1/M \sum_{i=1}^M y_i x_i).

Its prediction error averaged over w ~ N(0, I_d) (derived in ``proofs/zfb_linear.py``), with prompt-label noise
s^2 and target noise t^2:

    E(\hat y_q - y_q)^2 = tr\Lambda - 2 tr(\Gamma^{-1}\Lambda^2) + tr(\Gamma^{-1}\Lambda\Gamma^{-1}\Gamma_M\Lambda)
                          + s^2 tr(\Gamma^{-1}\Lambda\Gamma^{-1}\Lambda) / M + t^2,
    \Gamma_M = (1 + 1/M) \Lambda + tr(\Lambda)/M I_d.

N = ``math.inf`` gives \Gamma = \Lambda (Boursier-Boyer's infinite-prompt training), M = ``math.inf`` an infinite
test prompt.

>>> import numpy as np
>>> L = np.array([[2.0]])
>>> zfb_gamma(L, 2).tolist()                     # (1 + 1/2) 2 + 2/2
[[4.0]]
>>> WKQ, WPV = zfb_minimizer(L, 2)
>>> WKQ.tolist(), WPV.tolist()                   # tr(\Gamma^{-2})^{1/4} = 1/2, \Gamma^{-1} = 1/4
([[0.5, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.5]])
>>> round(zfb_error(L, 2, 2), 12)                # tr\Lambda - tr(\Gamma^{-1}\Lambda^2) = 2 - 1 at M = N
1.0
>>> est = zfb_error_mc(L, 2, 2, n_prompts=20000, seed=0)
>>> abs(est.z(1.0)) < 5
True
>>> zfb_error(L, 0, 2)
Traceback (most recent call last):
...
ValueError: N: must be >= 1, got 0
"""

from __future__ import annotations

import math

import numpy as np

from .measures import as_generator
from .montecarlo import Estimate, mean_estimate
from .validation import as_array, as_matrix, covariance, nonnegative_float, positive_int

__all__ = [
    "zfb_gamma",
    "zfb_minimizer",
    "embed_prompt",
    "lsa_forward",
    "lsa_prediction",
    "zfb_predict",
    "zfb_error",
    "zfb_error_parts",
    "zfb_error_mc",
    "wishart_product",
    "wishart_product_mc",
]

_METHODS = ("predictor", "lsa")


# ----------------------------------------------------------------------------------------------- validation


def _lambda(Lambda) -> np.ndarray:
    return covariance(Lambda, "Lambda")


def _length(value, name: str) -> float:
    """A prompt length: an integer >= 1, or ``math.inf`` (the infinite-prompt limit)."""
    if isinstance(value, float) and math.isinf(value) and value > 0:
        return math.inf
    return float(positive_int(value, name))


def _sym_inv(A: np.ndarray) -> np.ndarray:
    Ai = np.linalg.inv(A)
    return (Ai + Ai.T) / 2


# ----------------------------------------------------------------------------------------------- the minimiser


def zfb_gamma(Lambda, N) -> np.ndarray:
    r"""\Gamma_N = (1 + 1/N) \Lambda + tr(\Lambda)/N I_d  (ZFB Theorem 4.1); \Gamma_\infty = \Lambda.

    >>> zfb_gamma([[1.0, 0.0], [0.0, 3.0]], 4).tolist()
    [[2.25, 0.0], [0.0, 4.75]]
    """
    L = _lambda(Lambda)
    n = _length(N, "N")
    if math.isinf(n):
        return L.copy()
    return (1.0 + 1.0 / n) * L + np.trace(L) / n * np.eye(L.shape[0])


def zfb_minimizer(Lambda, N) -> tuple[np.ndarray, np.ndarray]:
    r"""(W^{KQ}_*, W^{PV}_*) of ZFB Theorem 4.1, each (d+1) x (d+1):

        W^{KQ}_* = tr(\Gamma^{-2})^{-1/4} diag(\Gamma^{-1}, 0),   W^{PV}_* = tr(\Gamma^{-2})^{1/4} e_{d+1} e_{d+1}^T.

    At N = inf this is Boursier-Boyer's (U_*, V_*) with \Sigma = \Lambda (paper Sec. 5).
    """
    G = zfb_gamma(Lambda, N)
    d = G.shape[0]
    Gi = _sym_inv(G)
    c = float(np.trace(Gi @ Gi)) ** 0.25
    WKQ = np.zeros((d + 1, d + 1))
    WKQ[:d, :d] = Gi / c
    WPV = np.zeros((d + 1, d + 1))
    WPV[d, d] = c
    return WKQ, WPV


# ----------------------------------------------------------------------------------------------- the layer


def embed_prompt(X, y, x_q) -> np.ndarray:
    r"""E = [[x_1 .. x_n x_q], [y_1 .. y_n 0]]: (d+1, n+1), or (B, d+1, n+1) for batches.

    ``X`` is (n, d) or (B, n, d), ``y`` (n,) or (B, n), ``x_q`` (d,) or (B, d).

    >>> embed_prompt([[1.0, 2.0]], [3.0], [4.0, 5.0]).tolist()
    [[1.0, 4.0], [2.0, 5.0], [3.0, 0.0]]
    """
    X = as_array(X, "X")
    y = as_array(y, "y")
    q = as_array(x_q, "x_q")
    if X.ndim not in (2, 3):
        raise ValueError(f"X: expected shape (n, d) or (B, n, d), got {X.shape}")
    lead, (n, d) = X.shape[:-2], X.shape[-2:]
    if y.shape != lead + (n,):
        raise ValueError(f"y: expected shape {lead + (n,)}, got {y.shape}")
    if q.shape != lead + (d,):
        raise ValueError(f"x_q: expected shape {lead + (d,)}, got {q.shape}")
    E = np.zeros(lead + (d + 1, n + 1))
    E[..., :d, :n] = np.swapaxes(X, -1, -2)
    E[..., d, :n] = y
    E[..., :d, n] = q
    return E


def _weights(W_KQ, W_PV, D: int) -> tuple[np.ndarray, np.ndarray]:
    return as_matrix(W_KQ, "W_KQ", (D, D)), as_matrix(W_PV, "W_PV", (D, D))


def lsa_forward(E, W_KQ, W_PV, n=None) -> np.ndarray:
    r"""The LSA layer, ZFB eq. (3.3):  f_LSA(E; \theta) = E + W^{PV} E (E^T W^{KQ} E) / n.

    ``E`` is (d+1, n+1) or a batch (B, d+1, n+1); ``n`` defaults to the number of prompt tokens (columns - 1).
    The query column is part of E (its label slot is whatever E holds there, 0 in ZFB).
    """
    E = as_array(E, "E")
    if E.ndim not in (2, 3):
        raise ValueError(f"E: expected shape (d+1, n+1) or (B, d+1, n+1), got {E.shape}")
    D, cols = E.shape[-2:]
    if cols < 2:
        raise ValueError(f"E: needs at least one prompt column and the query column, got {cols} column(s)")
    n = cols - 1 if n is None else positive_int(n, "n")
    WKQ, WPV = _weights(W_KQ, W_PV, D)
    Et = np.swapaxes(E, -1, -2)
    return E + WPV @ E @ (Et @ WKQ @ E) / n


def lsa_prediction(E, W_KQ, W_PV, n=None) -> np.ndarray | float:
    r"""\hat y_q = [f_LSA(E; \theta)]_{d+1, n+1}: the full forward pass, read at the query's label slot."""
    out = lsa_forward(E, W_KQ, W_PV, n)
    val = out[..., -1, -1]
    return float(val) if np.ndim(val) == 0 else val


def zfb_predict(X, y, x_q, Lambda, N) -> np.ndarray | float:
    r"""The learned predictor  \hat y_q = x_q^T \Gamma_N^{-1} (1/M \sum_i y_i x_i)  (ZFB eq. (4.3)), M = len(y).

    >>> zfb_predict([[1.0], [2.0]], [1.0, 4.0], [1.0], [[2.0]], 2)     # (1/4) (1 + 8)/2
    1.125
    """
    X = as_array(X, "X")
    if X.ndim not in (2, 3):
        raise ValueError(f"X: expected shape (M, d) or (B, M, d), got {X.shape}")
    E = embed_prompt(X, y, x_q)  # validates shapes
    G = zfb_gamma(Lambda, N)
    d = X.shape[-1]
    if G.shape[0] != d:
        raise ValueError(f"Lambda: expected a {d}x{d} covariance to match X, got {G.shape}")
    Gi = _sym_inv(G)
    M = X.shape[-2]
    m = np.einsum("...md,...m->...d", X, E[..., d, :M]) / M
    q = E[..., :d, M]
    val = np.einsum("...d,de,...e->...", q, Gi, m)
    return float(val) if np.ndim(val) == 0 else val


# ----------------------------------------------------------------------------------------------- closed form


def zfb_error_parts(Lambda, N, M, noise_std=0.0, target_noise_std=0.0) -> dict:
    r"""The terms of the averaged prediction error (noise given as standard deviations s, t):

        bias           tr(\Lambda (I - \Gamma^{-1}\Lambda)^2) = tr(\Gamma^{-2}\Lambda(\Lambda + tr\Lambda I)^2)/N^2
        variance_gram  tr(\Gamma^{-2}\Lambda^3) / M
        variance_trace tr(\Lambda) tr(\Gamma^{-2}\Lambda^2) / M
        prompt_noise   s^2 tr(\Gamma^{-1}\Lambda\Gamma^{-1}\Lambda) / M
        target_noise   t^2
    """
    L = _lambda(Lambda)
    m = _length(M, "M")
    s = nonnegative_float(noise_std, "noise_std")
    t = nonnegative_float(target_noise_std, "target_noise_std")
    Gi = _sym_inv(zfb_gamma(L, N))
    d = L.shape[0]
    R = np.eye(d) - Gi @ L
    GiL = Gi @ L
    inv_m = 0.0 if math.isinf(m) else 1.0 / m
    return {
        "bias": float(np.trace(L @ R @ R.T)),
        "variance_gram": float(np.trace(GiL @ GiL @ L)) * inv_m,
        "variance_trace": float(np.trace(L) * np.trace(GiL @ GiL)) * inv_m,
        "prompt_noise": s**2 * float(np.trace(GiL @ GiL)) * inv_m,
        "target_noise": t**2,
    }


def zfb_error(Lambda, N, M, noise_std=0.0, target_noise_std=0.0) -> float:
    r"""E(\hat y_q - y_q)^2 at the ZFB minimiser, averaged over w ~ N(0, I_d); the sum of :func:`zfb_error_parts`.

    At M = N and no noise it is  tr\Lambda - tr(\Gamma^{-1}\Lambda^2) = 2 L(\theta_*).
    """
    return float(sum(zfb_error_parts(Lambda, N, M, noise_std, target_noise_std).values()))


# ----------------------------------------------------------------------------------------------- Monte Carlo


def zfb_error_mc(Lambda, N, M, n_prompts, seed, *, noise_std=0.0, target_noise_std=0.0,
                 method="predictor", chunk=20_000) -> Estimate:
    r"""Monte Carlo of the *definition*  E(\hat y_q - y_q)^2  with the ZFB minimiser trained at length N.

    Per prompt: w ~ N(0, I_d), x_1..x_M, x_q ~ N(0, \Lambda), y_i = w^T x_i + s \epsilon_i, y_q = w^T x_q + t \epsilon_q.
    ``method="predictor"`` reads x_q^T \Gamma_N^{-1}(1/M \sum y_i x_i); ``method="lsa"`` runs the full LSA forward pass
    (:func:`lsa_forward`, normalised by the M prompt tokens) at (W^{KQ}_*, W^{PV}_*) and reads entry (d+1, M+1).
    Prompts are drawn ``chunk`` at a time from one generator, so the same seed and chunk give the same bits.
    """
    L = _lambda(Lambda)
    d = L.shape[0]
    m = int(positive_int(M, "M"))
    n = positive_int(n_prompts, "n_prompts", minimum=2)
    s = nonnegative_float(noise_std, "noise_std")
    t = nonnegative_float(target_noise_std, "target_noise_std")
    chunk = positive_int(chunk, "chunk")
    if method not in _METHODS:
        raise ValueError(f"method: expected one of {_METHODS}, got {method!r}")
    rng = as_generator(seed)
    root = np.linalg.cholesky(L)
    Gi = _sym_inv(zfb_gamma(L, N))
    WKQ, WPV = zfb_minimizer(L, N)
    out = np.empty(n)
    for start in range(0, n, chunk):
        b = min(chunk, n - start)
        w = rng.standard_normal((b, d))
        X = rng.standard_normal((b, m, d)) @ root.T
        xq = rng.standard_normal((b, d)) @ root.T
        y = np.einsum("bmd,bd->bm", X, w)
        if s:
            y = y + s * rng.standard_normal((b, m))
        yq = np.einsum("bd,bd->b", xq, w)
        if t:
            yq = yq + t * rng.standard_normal(b)
        if method == "predictor":
            mhat = np.einsum("bmd,bm->bd", X, y) / m
            pred = np.einsum("bd,de,be->b", xq, Gi, mhat)
        else:
            E = embed_prompt(X, y, xq)
            pred = lsa_forward(E, WKQ, WPV)[:, d, m]
        out[start:start + b] = (pred - yq) ** 2
    return mean_estimate(out)


# ----------------------------------------------------------------------------------------------- Wishart moment


def wishart_product(Lambda, B, M) -> np.ndarray:
    r"""E[\hat S B \hat S] = \Lambda B \Lambda + (\Lambda B^T \Lambda + tr(B\Lambda) \Lambda) / M,
    \hat S = (1/M) \sum_{i=1}^M x_i x_i^T, x_i ~ N(0, \Lambda) i.i.d. (derived in ``proofs/zfb_linear.py``).

    >>> wishart_product([[1.0]], [[1.0]], 1).tolist()               # E x^4 = 3
    [[3.0]]
    """
    L = _lambda(Lambda)
    Bm = as_matrix(B, "B", L.shape)
    m = _length(M, "M")
    inv_m = 0.0 if math.isinf(m) else 1.0 / m
    return L @ Bm @ L + inv_m * (L @ Bm.T @ L + np.trace(Bm @ L) * L)


def wishart_product_mc(Lambda, B, M, n_samples, seed, chunk=50_000) -> tuple[np.ndarray, np.ndarray]:
    r"""Monte Carlo of E[\hat S B \hat S] entry-wise: (mean, standard error), each d x d."""
    L = _lambda(Lambda)
    d = L.shape[0]
    Bm = as_matrix(B, "B", (d, d))
    m = int(positive_int(M, "M"))
    n = positive_int(n_samples, "n_samples", minimum=2)
    chunk = positive_int(chunk, "chunk")
    rng = as_generator(seed)
    root = np.linalg.cholesky(L)
    s1 = np.zeros((d, d))
    s2 = np.zeros((d, d))
    for start in range(0, n, chunk):
        b = min(chunk, n - start)
        X = rng.standard_normal((b, m, d)) @ root.T
        S = np.einsum("bmi,bmj->bij", X, X) / m
        P = S @ Bm @ S
        s1 += P.sum(axis=0)
        s2 += (P * P).sum(axis=0)
    mean = s1 / n
    var = np.maximum(s2 / n - mean**2, 0.0) * n / (n - 1)
    return mean, np.sqrt(var / n)
