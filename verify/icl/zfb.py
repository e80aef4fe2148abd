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
from typing import Callable

import numpy as np

from verify.numerics.measures import as_generator
from verify.numerics.montecarlo import Estimate, mean_estimate
from verify._validation import as_array, as_matrix, covariance, nonnegative_float, positive_int

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
    "lsa_error_mc",
    "lsa_error_conditional_mc",
    "predictor_error_mc",
    "lsa_query_output",
    "wishart_product",
    "wishart_product_mc",
    "gaussian_fourth_moment",
    "sample_second_moment",
    "lsa_block_error",
    "lsa_trained_minimizer",
    "trained_first_order",
    "minimizer_from_gamma",
    "gamma_form",
    "error_form",
    "error_symbols",
    "form_at",
    "gamma_sym",
    "error_general_sym",
    "error_sym",
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


# ----------------------------------------------------------------------------------------------- the minimizer


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


def minimizer_from_gamma(G) -> tuple[np.ndarray, np.ndarray]:
    r"""W^{KQ} = tr(\Gamma^{-2})^{-1/4} diag(\Gamma^{-1}, 0),  W^{PV} = tr(\Gamma^{-2})^{1/4} e_{d+1}e_{d+1}^T  for any
    symmetric positive-definite \Gamma (the balanced point with u U_{11}^T = \Gamma^{-1}).

    >>> WKQ, WPV = minimizer_from_gamma([[4.0]])
    >>> WKQ.tolist(), WPV.tolist()                   # tr(\Gamma^{-2})^{1/4} = 1/2, \Gamma^{-1} = 1/4
    ([[0.5, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.5]])
    """
    G = np.asarray(G, dtype=float)
    d = G.shape[0]
    Gi = _sym_inv(G)
    c = float(np.trace(Gi @ Gi)) ** 0.25
    WKQ = np.zeros((d + 1, d + 1))
    WKQ[:d, :d] = Gi / c
    WPV = np.zeros((d + 1, d + 1))
    WPV[d, d] = c
    return WKQ, WPV


def zfb_minimizer(Lambda, N) -> tuple[np.ndarray, np.ndarray]:
    r"""(W^{KQ}_*, W^{PV}_*) of ZFB Theorem 4.1, each (d+1) x (d+1): :func:`minimizer_from_gamma` of \Gamma_N,

        W^{KQ}_* = tr(\Gamma^{-2})^{-1/4} diag(\Gamma^{-1}, 0),   W^{PV}_* = tr(\Gamma^{-2})^{1/4} e_{d+1} e_{d+1}^T.

    At N = inf this is Boursier-Boyer's (U_*, V_*) with \Sigma = \Lambda (paper Sec. 5).
    """
    return minimizer_from_gamma(zfb_gamma(Lambda, N))


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
    r"""E(\hat y_q - y_q)^2 at the ZFB minimizer, averaged over w ~ N(0, I_d); the sum of :func:`zfb_error_parts`.

    At M = N and no noise it is  tr\Lambda - tr(\Gamma^{-1}\Lambda^2) = 2 L(\theta_*).
    """
    return float(sum(zfb_error_parts(Lambda, N, M, noise_std, target_noise_std).values()))


# ----------------------------------------------------------------------------------------------- Monte Carlo


def _prompts(L: np.ndarray, m: int, b: int, s: float, t: float, rng: np.random.Generator):
    """One chunk of b prompts: (X, y, x_q, y_q) with w ~ N(0, I), x ~ N(0, Lambda), label noise s, target noise t."""
    d = L.shape[0]
    root = np.linalg.cholesky(L)
    w = rng.standard_normal((b, d))
    X = rng.standard_normal((b, m, d)) @ root.T
    xq = rng.standard_normal((b, d)) @ root.T
    y = np.einsum("bmd,bd->bm", X, w)
    if s:
        y = y + s * rng.standard_normal((b, m))
    yq = np.einsum("bd,bd->b", xq, w)
    if t:
        yq = yq + t * rng.standard_normal(b)
    return X, y, xq, yq


def _chunked(n: int, chunk: int, draw: Callable[[int], np.ndarray]) -> Estimate:
    """The Monte Carlo loop of the error estimators: ``draw(b)`` returns the samples of the next b prompts (the
    generator is consumed chunk after chunk, so the result does not depend on the memory held at once beyond
    ``chunk``); mean and standard error of all n samples."""
    out = np.empty(n)
    for start in range(0, n, chunk):
        b = min(chunk, n - start)
        out[start:start + b] = draw(b)
    return mean_estimate(out)


def _mc_arguments(Lambda, M, n_prompts, noise_std, target_noise_std, chunk):
    L = _lambda(Lambda)
    return (L, int(positive_int(M, "M")), positive_int(n_prompts, "n_prompts", minimum=2),
            nonnegative_float(noise_std, "noise_std"), nonnegative_float(target_noise_std, "target_noise_std"),
            positive_int(chunk, "chunk"))


def lsa_error_mc(Lambda, W_KQ, W_PV, M, n_prompts, seed, *, noise_std=0.0, target_noise_std=0.0,
                 chunk=20_000) -> Estimate:
    r"""Monte Carlo of E(\hat y_q - y_q)^2 for the LSA layer at ANY weights (W^{KQ}, W^{PV}): the full forward pass
    (:func:`lsa_forward` on :func:`embed_prompt`, normalised by the M prompt tokens), read at entry (d+1, M+1).
    No closed form and no \Gamma is involved: the weights are the caller's."""
    L, m, n, s, t, chunk = _mc_arguments(Lambda, M, n_prompts, noise_std, target_noise_std, chunk)
    d = L.shape[0]
    WKQ, WPV = _weights(W_KQ, W_PV, d + 1)
    rng = as_generator(seed)

    def draw(b):
        X, y, xq, yq = _prompts(L, m, b, s, t, rng)
        return (lsa_forward(embed_prompt(X, y, xq), WKQ, WPV)[:, d, m] - yq) ** 2

    return _chunked(n, chunk, draw)


def predictor_error_mc(Lambda, P, M, n_prompts, seed, *, noise_std=0.0, target_noise_std=0.0,
                       chunk=20_000) -> Estimate:
    r"""Monte Carlo of E(\hat y_q - y_q)^2 for the predictor  x_q^T P (1/M \sum_i y_i x_i)  with the caller's P.
    Draws the same prompts as :func:`lsa_error_mc` for the same seed."""
    L, m, n, s, t, chunk = _mc_arguments(Lambda, M, n_prompts, noise_std, target_noise_std, chunk)
    Pm = as_matrix(P, "P", (L.shape[0], L.shape[0]))
    rng = as_generator(seed)

    def draw(b):
        X, y, xq, yq = _prompts(L, m, b, s, t, rng)
        mhat = np.einsum("bmd,bm->bd", X, y) / m
        return (np.einsum("bd,de,be->b", xq, Pm, mhat) - yq) ** 2

    return _chunked(n, chunk, draw)


def lsa_query_output(E, W_KQ, W_PV, n=None) -> np.ndarray:
    r"""The query column of the LSA layer, [f_LSA(E; \theta)]_{:, n+1} = z_q + W^{PV} E (E^T W^{KQ} z_q) / n: the
    same definition as :func:`lsa_forward`, evaluated for the last column only (O(d n) per prompt)."""
    E = as_array(E, "E")
    if E.ndim not in (2, 3):
        raise ValueError(f"E: expected shape (d+1, n+1) or (B, d+1, n+1), got {E.shape}")
    D, cols = E.shape[-2:]
    if cols < 2:
        raise ValueError(f"E: needs at least one prompt column and the query column, got {cols} column(s)")
    n = cols - 1 if n is None else positive_int(n, "n")
    WKQ, WPV = _weights(W_KQ, W_PV, D)
    zq = E[..., :, -1]
    a = zq @ WKQ.T                                   # W^{KQ} z_q
    b = np.einsum("...dm,...d->...m", E, a)          # E^T W^{KQ} z_q
    c = np.einsum("...dm,...m->...d", E, b)          # E E^T W^{KQ} z_q
    return zq + c @ WPV.T / n


def lsa_error_conditional_mc(Lambda, W_KQ, W_PV, M, n_prompts, seed, *, noise_std=0.0, target_noise_std=0.0,
                             chunk=20_000) -> Estimate:
    r"""Monte Carlo over the prompt covariates x_{1:M} of  E[(\hat y_q - y_q)^2 | x_{1:M}], the inner expectation
    over (w, \varepsilon_{1:M}, x_q, \varepsilon_q) taken EXACTLY by running the forward pass at cubature nodes.

    On ZFB's invariant manifold (W^{PV}_{d+1, 1:d} = 0, W^{KQ}_{d+1, :} = W^{KQ}_{:, d+1} = 0) and with label slot 0,
    \hat y_q - w^T x_q is a bilinear form  x_q^T A u  in x_q ~ N(0, \Lambda) and u = (w, \varepsilon_{1:M}) ~ N(0, diag(I, s^2 I)),
    so  E (x_q^T A u)^2 = \sum_{k, j} (\hat y_q - y_q)^2 |_{x_q = R e_k, u = R_u e_j}  with R R^T = \Lambda, R_u R_u^T = Cov u
    (exact, d (d + M) forward passes per prompt), plus t^2 for the target noise.  The weights are the caller's;
    no closed form is used.  Unbiased for the same E(\hat y_q - y_q)^2 as :func:`lsa_error_mc`, with a smaller variance.
    """
    L, m, n, s, t, chunk = _mc_arguments(Lambda, M, n_prompts, noise_std, target_noise_std, chunk)
    d = L.shape[0]
    WKQ, WPV = _weights(W_KQ, W_PV, d + 1)
    if np.any(WPV[d, :d] != 0):
        raise ValueError("W_PV: the cubature needs w^{PV}_{21} = 0 (ZFB's invariant manifold)")
    if np.any(WKQ[d, :] != 0) or np.any(WKQ[:, d] != 0):
        raise ValueError("W_KQ: the cubature needs the last row and column of W^{KQ} to be 0 (ZFB's invariant manifold)")
    R = np.linalg.cholesky(L)
    nodes = [(np.eye(d)[j], np.zeros(m)) for j in range(d)]
    if s:
        nodes += [(np.zeros(d), s * np.eye(m)[j]) for j in range(m)]
    Zq = np.zeros((d + 1, d))
    Zq[:d] = R                                         # query columns z_q = (R e_k, 0), label slot 0
    A = WKQ @ Zq                                       # W^{KQ} z_q for every node k
    self_term = Zq * np.einsum("ik,ik->k", Zq, A)      # z_q (z_q^T W^{KQ} z_q): the query's own column in E E^T
    rng = as_generator(seed)
    c, cx, cy = WPV[d], WPV[d, :d], WPV[d, d]
    Ax, Ay = A[:d], A[d]                               # rows of W^{KQ} z_q: covariate block, label slot
    base = c @ self_term                               # (d,): the query's own column, one value per node k

    def draw(b):
        X = (rng.standard_normal((b * m, d)) @ R.T).reshape(b, m, d)
        XtX = np.empty((b, d, d))                      # sum_i x_i x_i^T, shared by every node (pairwise: tiny
        for i in range(d):                             # batched matmuls are slow in numpy)
            for j in range(i, d):
                XtX[:, i, j] = XtX[:, j, i] = np.einsum("bm,bm->b", X[:, :, i], X[:, :, j])
        Q = np.einsum("bij,j->bi", XtX, cx) @ Ax       # c_x^T (sum x x^T) A_x for every node k
        acc = np.zeros(b)
        for wj, ej in nodes:
            # prompt columns z_i = (x_i, y_i), y = X w_j + e_j:  sum_i z_i z_i^T = [[XtX, Xty], [Xty^T, yty]]
            Xw, Xe = np.einsum("bij,j->bi", XtX, wj), np.einsum("bmd,m->bd", X, ej)
            Xty = Xw + Xe
            yty = Xw @ wj + 2.0 * (Xe @ wj) + ej @ ej
            # f_LSA(E)[:, M+1] = z_q + W^{PV} (sum_i z_i z_i^T + z_q z_q^T) W^{KQ} z_q / M, read at row d+1
            GA = Q + np.outer(Xty @ cx, Ay) + cy * (Xty @ Ax) + cy * np.outer(yty, Ay)
            pred = (GA + base) / m
            acc += ((pred - wj @ R) ** 2).sum(axis=1)  # + Zq[d] = 0: the label slot of the query column
        return acc + t**2

    return _chunked(n, chunk, draw)


def zfb_error_mc(Lambda, N, M, n_prompts, seed, *, noise_std=0.0, target_noise_std=0.0,
                 method="predictor", chunk=20_000) -> Estimate:
    r"""Monte Carlo of the *definition*  E(\hat y_q - y_q)^2  with the ZFB minimizer trained at length N.

    ``method="predictor"`` reads x_q^T \Gamma_N^{-1}(1/M \sum y_i x_i) (:func:`predictor_error_mc`);
    ``method="lsa"`` runs the full LSA forward pass at (W^{KQ}_*, W^{PV}_*) (:func:`lsa_error_mc`).
    Same seed and chunk, same prompts and the same bits for both methods.
    """
    if method not in _METHODS:
        raise ValueError(f"method: expected one of {_METHODS}, got {method!r}")
    positive_int(M, "M")
    kw = dict(noise_std=noise_std, target_noise_std=target_noise_std, chunk=chunk)
    if method == "predictor":
        return predictor_error_mc(Lambda, _sym_inv(zfb_gamma(Lambda, N)), M, n_prompts, seed, **kw)
    return lsa_error_mc(Lambda, *zfb_minimizer(Lambda, N), M, n_prompts, seed, **kw)


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


# ----------------------------------------------------------------------------------------------- Gamma-free references


def gaussian_fourth_moment(Lambda) -> np.ndarray:
    r"""E[x_a x_b x_c x_e] for x ~ N(0, \Lambda): the three pairings (Isserlis), as a d^4 tensor.

    >>> float(gaussian_fourth_moment([[2.0]])[0, 0, 0, 0])          # 3 * 2^2
    12.0
    """
    L = _lambda(Lambda)
    return (np.einsum("ab,ce->abce", L, L) + np.einsum("ac,be->abce", L, L) + np.einsum("ae,bc->abce", L, L))


def sample_second_moment(Lambda, n) -> np.ndarray:
    r"""E[\hat S^2] for \hat S = (1/n)\sum_{i=1}^n x_ix_i^T by pair counting: the n(n-1) pairs i != j give \Lambda^2, the n
    pairs i = j the fourth moment, so E\hat S^2 = (1 - 1/n)\Lambda^2 + (1/n) E[x x^T x x^T] (:func:`gaussian_fourth_moment`;
    n = inf: \Lambda^2).  Never uses \Gamma."""
    L = _lambda(Lambda)
    m = _length(n, "n")
    four = np.einsum("acce->ae", gaussian_fourth_moment(L))
    if math.isinf(m):
        return L @ L
    return (1 - 1 / m) * (L @ L) + four / m


def lsa_block_error(Lambda, C, M) -> float:
    r"""E(\hat y_q - w^T x_q)^2 for the LSA on ZFB's invariant manifold, \hat y_q = x_q^T C (1/M \sum_i y_i x_i):
    E[(C\hat S w - w)^T\Lambda(C\hat S w - w)] = tr(C^T\Lambda C E\hat S^2) - 2 tr(\Lambda C\Lambda) + tr\Lambda (noiseless)."""
    L = _lambda(Lambda)
    Cm = as_matrix(C, "C", L.shape)
    A = sample_second_moment(L, M)
    return float(np.trace(Cm.T @ L @ Cm @ A) - 2 * np.trace(L @ Cm @ L) + np.trace(L))


def _balanced(C, d: int) -> tuple[np.ndarray, np.ndarray]:
    c = np.sum(C * C) ** 0.25                          # ||C||_F^{1/2} (analytic in C: complex steps pass through)
    WKQ = np.zeros((d + 1, d + 1), dtype=np.result_type(C, float))
    WKQ[:d, :d] = C.T / c
    WPV = np.zeros((d + 1, d + 1), dtype=WKQ.dtype)
    WPV[d, d] = c
    return WKQ, WPV


def lsa_trained_minimizer(Lambda, N, *, eps=None) -> tuple[np.ndarray, np.ndarray]:
    r"""The minimizer of the LSA population loss on ZFB's invariant manifold, found WITHOUT \Gamma.

    The loss at training length N is  f(C) = tr(C^T\Lambda C A_N) - 2 tr(\Lambda C\Lambda) + tr\Lambda  (:func:`lsa_block_error`,
    C = u U_{11}^T), with A_N = E\hat S^2 from :func:`sample_second_moment`; its gradient 2\Lambda(C A_N - \Lambda) vanishes at
    C = \Lambda A_N^{-1} (a linear solve, no commutation assumed).  Gradient flow from ZFB's balanced initialisation
    conserves \|U_{11}\|_F^2 - u^2 = 0, so the limit is u = \|C\|_F^{1/2}, U_{11} = C^T/u.  ``eps`` (instead of N) evaluates
    at A = \Lambda^2 + eps (E[xx^Txx^T] - \Lambda^2), complex allowed (for derivatives in 1/N by complex step).
    """
    L = _lambda(Lambda)
    d = L.shape[0]
    if eps is None:
        A = sample_second_moment(L, N)
    else:
        four = np.einsum("acce->ae", gaussian_fourth_moment(L))
        A = L @ L + eps * (four - L @ L)
    C = np.linalg.solve(A.T, L.T).T                    # C A = \Lambda
    return _balanced(C, d)


def trained_first_order(Lambda) -> tuple[np.ndarray, np.ndarray]:
    r"""d/d(1/N) of :func:`lsa_trained_minimizer` at 1/N = 0 (complex step, exact to rounding): the constant D_1 in
    W(N) = W(\infty) + D_1/N + O(N^{-2})."""
    h = 1e-30
    WKQ, WPV = lsa_trained_minimizer(Lambda, None, eps=1j * h)
    return WKQ.imag / h, WPV.imag / h


# ----------------------------------------------------------------------------------------------- symbolic closed forms
#
# One source of truth: the general-d SymPy forms (matrix symbols of size d) below; the explicit-entry helpers evaluate
# them at a given d (``verify.symbolic.explicit_at``), the statements check the numpy forms against them.


def _general_symbols():
    import sympy as sp

    d = sp.Symbol("d", integer=True, positive=True)
    return d, sp.MatrixSymbol("Lambda", d, d), sp.Identity(d)


def gamma_form(n):
    r"""\Gamma_n = (1 + 1/n)\Lambda + tr(\Lambda)/n I_d as a general-d SymPy matrix expression (\Lambda a d x d
    ``MatrixSymbol``; ``n`` a symbol or a number)."""
    import sympy as sp

    _, L, I = _general_symbols()
    n = sp.sympify(n)
    return (1 + 1 / n) * L + sp.Trace(L) / n * I


def error_form(n=None, m=None, s=None, t=None):
    r"""E(\hat y_q - y_q)^2 at the ZFB minimizer (general d, SymPy):
    tr\Lambda - 2 tr(\Gamma_N^{-1}\Lambda^2) + tr(\Gamma_N^{-1}\Lambda\Gamma_N^{-1}\Gamma_M\Lambda) + s^2 tr(\Gamma_N^{-1}\Lambda\Gamma_N^{-1}\Lambda)/M + t^2,
    in the symbols Lambda (d x d), N, M, s, t (defaults: the symbols of :func:`error_symbols`)."""
    import sympy as sp

    _, L, _ = _general_symbols()
    N_, M_, s_, t_ = error_symbols()
    n, m, s, t = (N_ if n is None else n), (M_ if m is None else m), (s_ if s is None else s), (t_ if t is None else t)
    Gi = gamma_form(n).I
    tr = sp.Trace
    return (tr(L) - 2 * tr(Gi * L**2) + tr(Gi * L * Gi * gamma_form(m) * L) + s**2 * tr(Gi * L * Gi * L) / m + t**2)


def error_symbols():
    """The scalar symbols N, M (prompt lengths, positive), s, t (noise standard deviations) of :func:`error_form`."""
    import sympy as sp

    N, M = sp.symbols("N M", positive=True)
    s, t = sp.symbols("s t", nonnegative=True)
    return N, M, s, t


def form_at(expr, Lam, values: dict | None = None):
    r"""A general-d form of this module (e.g. :func:`error_form`, :func:`gamma_form`) at an explicit \Lambda (SymPy
    matrix: numbers or symbols) and scalar ``values`` {symbol or name: value}.  Each distinct inverse in the form is
    evaluated and inverted once (a symbolic \Lambda makes every inversion costly)."""
    import sympy as sp

    from verify.symbolic import explicit_at

    d, L, _ = _general_symbols()
    Lam = sp.ImmutableMatrix(Lam)
    k = Lam.shape[0]
    names = {str(key) if not isinstance(key, str) else key: v for key, v in (values or {}).items()}
    expr = sp.sympify(expr)
    scalars = {x: sp.sympify(names[x.name]) for x in expr.free_symbols if x.name in names}
    inverses, placeholders = {}, {}
    for j, inv in enumerate(sorted(expr.atoms(sp.Inverse), key=sp.default_sort_key)):
        arg = explicit_at(inv.arg, d, k, values={L: Lam, **scalars}, expand=False)
        arg = arg if isinstance(arg, sp.MatrixBase) else sp.Matrix([[arg]])
        P = sp.MatrixSymbol(f"_inverse_{j}", d, d)
        placeholders[inv] = P
        inverses[P] = sp.ImmutableMatrix(arg.inv() if k > 1 else sp.Matrix([[1 / arg[0, 0]]]))
    return explicit_at(expr.xreplace(placeholders), d, k, values={L: Lam, **inverses, **scalars}, expand=False)


def gamma_sym(Lam, n):
    r"""SymPy \Gamma_n = (1 + 1/n)\Lambda + tr(\Lambda)/n I for an explicit symbolic \Lambda: :func:`gamma_form` at \Lambda."""
    import sympy as sp

    G = form_at(gamma_form(sp.sympify(n)), Lam)
    return sp.Matrix(G) if isinstance(G, sp.MatrixBase) else sp.Matrix([[G]])


def error_general_sym(Lam, P, m, s, t):
    r"""SymPy tr\Lambda - 2tr(P\Lambda^2) + tr(P\Lambda P\Lambda\Gamma_m) + s^2 tr(P\Lambda P\Lambda)/m + t^2 (any symmetric P)."""
    tr = lambda A: A.trace()  # noqa: E731
    return tr(Lam) - 2 * tr(P * Lam**2) + tr(P * Lam * P * Lam * gamma_sym(Lam, m)) + s**2 * tr(P * Lam * P * Lam) / m + t**2


def error_sym(Lam, n, m, s, t):
    r"""SymPy closed form at an explicit \Lambda: :func:`error_form` evaluated there,
    tr\Lambda - 2tr(\Gamma^{-1}\Lambda^2) + tr(\Gamma^{-1}\Lambda\Gamma^{-1}\Gamma_M\Lambda) + s^2 tr(..)/M + t^2."""
    N, M, s_, t_ = error_symbols()
    return form_at(error_form(), Lam, {N: n, M: m, s_: s, t_: t})
