r"""Independent references for the ICL statements (Sec. 5): R_\infty from its DEFINITION, never its closed form.

    R_\infty(U, V) = 1/2 E_{w, x_q, \varepsilon_q} (p_\infty - y_q)^2,   p_\infty = e_{d+1}^T V \Gamma_w U (x_q, 0),
    y_q = w^T x_q + \varepsilon_q,   \Gamma_w = [[\Sigma, \Sigma w], [w^T\Sigma, w^T\Sigma w + s^2]]  (built per node).

* :func:`definition_quadrature` -- 40-digit Gauss-Hermite (mpmath) of the definition at an exact point;
* :func:`risk_definition_gh` -- the same rule in float64, vectorised (3 nodes per coordinate of (w, x_q,
  \varepsilon_q): exact on this integrand, of degree <= 4 in each coordinate), any d <= 6;
* :func:`gradient_definition` -- the gradient in all entries of U and V by differentiating the definition
  under the integral sign (p_\infty is bilinear in (U, V): \partial p/\partial U_{ij} = (\Gamma_w v)_i x_j,
  \partial p/\partial V_{d+1,k} = (\Gamma_w U (x_q,0))_k), on the same exact rule;
  :func:`hessian_definition` -- central differences of that gradient (exact: R_\infty has degree <= 2 in
  every single entry, so its partial derivatives do too);
* :func:`risk_definition_mc` -- Monte Carlo over w (antithetic pairs, degree-2 Hermite control variates of
  known mean 0), the Gauss-Hermite rule over (x_q, \varepsilon_q) per sample;
* :func:`gap_to_subject` -- R_L - subject for the finite-L rate checks: paired Monte Carlo of R_L - R_\infty
  (:func:`verify.icl.risk.icl_risk_gap_mc`, whose R_\infty is the definition's p_\infty) plus the exact
  R_\infty(definition) - subject, so a wrong limit leaves a plateau or a negative gap.

Exact points (SymPy rationals: :func:`random_point`) serve the 40-digit checks; :func:`closed_form_value`
evaluates a general-d SymPy expression of :mod:`verify.icl.symbols` (the subject) at a point.
Monte Carlo results are memoised on (point, seed): a mutant run that draws the same stream re-uses the bits.

>>> from verify.icl.risk import bayes_point
>>> U, V = bayes_point([[2.0]])
>>> round(risk_definition_gh(U, V, [[2.0]], noise=0.5), 12)
0.125
"""

from __future__ import annotations

import functools
import itertools
import math

import mpmath
import numpy as np
import sympy as sp
from mpmath import mp

from verify.icl.risk import bayes_point, gamma_w, icl_risk_gap_mc, icl_risk_infinite_quadrature, toeplitz_sigma
from verify.icl.gradient import icl_risk_gradient
from verify.icl.symbols import A, CLOSED_FORM, SYM, U11, Sigma, a, b, d, s, u
from verify.numerics.montecarlo import Estimate
from verify.numerics.quadrature import hermite_rule_float
from verify.numerics.strategies import random_covariance
from verify.symbolic import explicit_at
from verify._validation import as_matrix, covariance, nonnegative_float, positive_int

__all__ = [
    "DPS",
    "random_point",
    "blocks",
    "float_point",
    "exact_point",
    "mpf",
    "closed_form_value",
    "definition_quadrature",
    "gap_point",
    "risk_definition_gh",
    "gradient_definition",
    "hessian_definition",
    "risk_definition_mc",
    "finite_gap_sample", "gap_to_limit", "gap_to_subject",
    "active_vector",
    "from_active_vector",
    "minimizer_specs",
    "minimizer_uv",
    "truncated_zero_uv",
    "perturbed_points",
    "rank_one_points",
    "excess_definition",
    "risk_gap_at_claim",
    "gradient_size_at_claim",
    "min_eigenvalue_at_claim",
    "agreement_if_excess",
    "finite_prompt_z",
]

DPS = 40

# ------------------------------------------------------------------------------------------ exact points


def _dyadic(value: float, bits: int = 10) -> sp.Rational:
    return sp.Rational(int(round(float(value) * 2**bits)), 2**bits)


def random_point(dim: int, rng, noise: bool = True) -> dict:
    """A random (U, V, Sigma, s) with dyadic-rational entries (exact in SymPy, mpmath and float64)."""
    S = random_covariance(dim, rng, floor=0.4)
    S = sp.ImmutableMatrix(dim, dim, lambda i, j: _dyadic(S[min(i, j), max(i, j)]))
    Um = sp.ImmutableMatrix(dim + 1, dim + 1, lambda i, j: _dyadic(0.6 * rng.standard_normal()))
    Vm = sp.ImmutableMatrix(dim + 1, dim + 1, lambda i, j: _dyadic(0.6 * rng.standard_normal()))
    sv = _dyadic(0.2 + 0.6 * rng.random()) if noise else sp.Integer(0)
    return {"U": Um, "V": Vm, "Sigma": S, "s": sv, "dim": dim}


def exact_point(U, V, Sigma, noise) -> dict:
    """A float point (numpy arrays) as exact SymPy rationals (every float is a dyadic rational)."""
    def m(X):
        X = np.asarray(X, dtype=float)
        return sp.ImmutableMatrix(X.shape[0], X.shape[1], lambda i, j: sp.Rational(float(X[i, j])))
    S = m(Sigma)
    return {"U": m(U), "V": m(V), "Sigma": S, "s": sp.Rational(float(noise)), "dim": S.shape[0]}


def blocks(point: dict) -> dict:
    """U11, u, a, b of a point (the only parts of U, V the risk sees)."""
    Um, Vm = point["U"], point["V"]
    k = Um.shape[0] - 1
    return {"U11": Um[:k, :k], "u": Um[k, :k].T, "a": Vm[k, :k].T, "b": Vm[k, k]}


def float_point(point: dict):
    """(U, V, Sigma, s) of a point as float64 arrays."""
    return (np.array(point["U"].tolist(), dtype=float), np.array(point["V"].tolist(), dtype=float),
            np.array(point["Sigma"].tolist(), dtype=float), float(point["s"]))


def mpf(q) -> mpmath.mpf:
    q = sp.Rational(q)
    return mp.mpf(q.p) / q.q


def closed_form_value(point: dict, expr=CLOSED_FORM):
    """A general-d SymPy scalar expression of :mod:`verify.icl.symbols` (default the closed form of R_\\infty)
    at an exact point, as an exact rational (``A`` stands for U11, as in the invariant-subspace form)."""
    bl = blocks(point)
    k = bl["U11"].shape[0]
    values = {U11: bl["U11"], u: bl["u"], a: bl["a"], Sigma: point["Sigma"], b: bl["b"], s: point["s"], A: bl["U11"]}
    return sp.Rational(explicit_at(expr, d, k, SYM, values))


def _key(point: dict) -> tuple:
    return (sp.ImmutableMatrix(point["U"]), sp.ImmutableMatrix(point["V"]), sp.ImmutableMatrix(point["Sigma"]),
            sp.Rational(point["s"]))


@functools.lru_cache(maxsize=256)
def _quadrature_cached(key: tuple, dps: int):
    Um, Vm, S, sv = key
    return icl_risk_infinite_quadrature(Um, Vm, S, sv, dps=dps)


def definition_quadrature(point: dict, dps: int = DPS):
    """R_\\infty at ``point`` from its DEFINITION (Gauss-Hermite over (w, x_q, eps_q), exact on this polynomial
    integrand, rational entries kept exact); memoised per point and precision."""
    return _quadrature_cached(_key(point), int(dps))


GAP_SCORE_VARIANCE = 0.1
GAP_NOISE = 0.3


def gap_point(dim: int = 2, seed: int = 2, score_variance: float = GAP_SCORE_VARIANCE, noise: float = GAP_NOISE):
    r"""A fixed general (U, V) (u, a, b and the unused blocks all non-zero) with small attention scores.

    U is rescaled so that the mean squared score E[(z^T U (x_q, 0))^2] = tr(\Sigma U_{:,1:d}^T E[\Gamma_w] U_{:,1:d})
    (E \Gamma_w = diag(\Sigma, tr \Sigma + s^2)) equals ``score_variance``: with O(1) scores the softmax weights
    are heavy-tailed and R_L - R_inf is still far from its asymptotics at L = 10^4.
    """
    pt = random_point(dim, np.random.default_rng(seed))
    U_, V_, S_, _ = float_point(pt)
    EG = np.zeros((dim + 1, dim + 1))
    EG[:dim, :dim] = S_
    EG[dim, dim] = np.trace(S_) + noise**2
    Ut = U_[:, :dim]
    return U_ * np.sqrt(score_variance / np.trace(S_ @ Ut.T @ EG @ Ut)), V_, S_, noise


# ------------------------------------------------------------------------------------- float64 definition


def _grid(dim: int):
    """Tensor Gauss-Hermite rule (3 nodes per coordinate) for N(0, I_dim): nodes (n, dim), weights (n,)."""
    x, wt = hermite_rule_float(3)
    nodes = np.array(list(itertools.product(x, repeat=dim)))
    weights = np.prod(np.array(list(itertools.product(wt, repeat=dim))), axis=1)
    return nodes, weights


def _validate(U, V, Sigma, noise):
    S = covariance(Sigma, "Sigma")
    k = S.shape[0]
    U = as_matrix(U, "U", shape=(k + 1, k + 1))
    V = as_matrix(V, "V", shape=(k + 1, k + 1))
    return U, V, S, nonnegative_float(noise, "noise")


def _coefficients(U, V, S, s, W):
    """Per task w (rows of W): r(w) with p_\\infty = r(w)^T x_q, r(w) = (e_{d+1}^T V \\Gamma_w U_{:,1:d})^T, and
    q(w) = \\Gamma_w^T V^T e_{d+1}; \\Gamma_w built from w (:func:`verify.icl.risk.gamma_w`)."""
    k = S.shape[0]
    G = gamma_w(S, W, s)  # (n, k+1, k+1)
    q = np.einsum("j,njk->nk", V[k], G)  # e^T V Gamma_w
    return q @ U[:, :k], q, G


def _query_rule(S, s):
    """Nodes and weights of (x_q, eps_q) ~ N(0, Sigma) x N(0, s^2): X (nx, d), weights (nx,), eps nodes/weights."""
    k = S.shape[0]
    Z, wx = _grid(k)
    X = Z @ np.linalg.cholesky(S).T
    e, we = hermite_rule_float(3)
    return X, wx, s * e, we


def _conditional(U, V, S, s, W):
    """E over (x_q, eps_q) of 1/2 (p_\\infty - y_q)^2 for every row w of W, by the exact Gauss-Hermite rule."""
    X, wx, e, we = _query_rule(S, s)
    r, _, _ = _coefficients(U, V, S, s, W)
    D = (r - W) @ X.T  # p - w^T x_q  (n, nx)
    loss = sum(wk * (D - ek) ** 2 for ek, wk in zip(e, we))
    return 0.5 * loss @ wx


def _conditional_moment(U, V, S, s, W):
    r"""The same E over (x_q, eps_q) of 1/2 (p_\infty - y_q)^2 as :func:`_conditional`, by the second moment of the
    query: p_\infty - y_q = (r(w) - w)^T x_q - eps_q, so the mean is 1/2 ((r - w)^T Sigma (r - w) + s^2); the Monte
    Carlo's inner step (2.7x faster than the 3^{d+1}-node rule at d = 3)."""
    r, _, _ = _coefficients(U, V, S, s, W)
    D = r - W
    return 0.5 * (np.einsum("ni,ij,nj->n", D, S, D) + s * s)


def risk_definition_gh(U, V, Sigma, noise=0.0) -> float:
    r"""R_\infty(U, V) from its definition by the float64 tensor Gauss-Hermite rule over (w, x_q, \varepsilon_q)
    (3 nodes per coordinate: exact on the integrand up to rounding; 3^{2d+1} nodes, d <= 6).  The closed form is
    never used.

    >>> from verify.icl.risk import invariant_point
    >>> U, V = invariant_point(0.0, 0.0, 2)
    >>> round(risk_definition_gh(U, V, [[1.0, 0.0], [0.0, 3.0]]), 12)   # predicts 0: tr(Sigma)/2
    2.0
    """
    U, V, S, s = _validate(U, V, Sigma, noise)
    if S.shape[0] > 6:
        raise ValueError(f"Sigma: the tensor rule needs d <= 6, got d = {S.shape[0]}")
    W, ww = _grid(S.shape[0])
    return float(_conditional(U, V, S, s, W) @ ww)


def gradient_definition(U, V, Sigma, noise=0.0) -> tuple[np.ndarray, np.ndarray]:
    r"""The gradient of R_\infty in all entries of U and V, differentiating the DEFINITION under the integral:

        \partial R/\partial U_{ij} = E[(p - y_q) q_i x_j],   \partial R/\partial V_{d+1,k} = E[(p - y_q)(\Gamma_w U (x_q,0))_k],
        q = \Gamma_w^T V^T e_{d+1},  j <= d;  the other entries (last column of U, first d rows of V) give 0,

    on the exact Gauss-Hermite rule of :func:`risk_definition_gh`.  Neither the closed form nor its gradient is used.

    >>> gU, gV = gradient_definition(np.zeros((2, 2)), np.eye(2), [[1.0]])
    >>> gU.round(12).tolist(), gV.round(12).tolist()
    ([[-1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]])
    """
    U, V, S, s = _validate(U, V, Sigma, noise)
    k = S.shape[0]
    if k > 6:
        raise ValueError(f"Sigma: the tensor rule needs d <= 6, got d = {k}")
    W, ww = _grid(k)
    X, wx, e, we = _query_rule(S, s)
    r, q, G = _coefficients(U, V, S, s, W)
    D = (r - W) @ X.T  # E over eps of (p - y_q) = p - w^T x_q (the eps nodes are symmetric, weights sum to 1)
    D = sum(wk * (D - ek) for ek, wk in zip(e, we))
    T = (D * wx) @ X  # T[w] = E_x[(p - y) x_q]  (nw, d)
    gU = np.zeros((k + 1, k + 1))
    gU[:, :k] = np.einsum("n,ni,nj->ij", ww, q, T)
    gV = np.zeros((k + 1, k + 1))
    gV[k] = np.einsum("n,nki,ij,nj->k", ww, G, U[:, :k], T)
    return gU, gV


def active_vector(U, V, k: int) -> np.ndarray:
    """The (d+1)^2 entries that enter R_\\infty: (vec_row(U11), u, a, b)."""
    return np.concatenate([U[:k, :k].reshape(-1), U[k, :k], V[k, :k], [V[k, k]]])


def from_active_vector(theta, k: int, U, V):
    """Inverse of :func:`active_vector`, the free entries copied from (U, V)."""
    U, V = np.array(U, dtype=float), np.array(V, dtype=float)
    U[:k, :k] = theta[: k * k].reshape(k, k)
    U[k, :k] = theta[k * k: k * k + k]
    V[k, :k] = theta[k * k + k: k * k + 2 * k]
    V[k, k] = theta[-1]
    return U, V


def hessian_definition(U, V, Sigma, noise=0.0, h: float = 0.5) -> np.ndarray:
    r"""Hessian of R_\infty in the active entries (:func:`active_vector`): central differences (step ``h``) of
    :func:`gradient_definition`.  R_\infty has degree <= 2 in every single entry (p_\infty is linear in each),
    so its partial derivatives do too and the central difference is exact for any h (up to rounding)."""
    U, V, S, s = _validate(U, V, Sigma, noise)
    k = S.shape[0]
    h = float(h)
    theta = active_vector(U, V, k)
    n = theta.size
    H = np.empty((n, n))
    for j in range(n):
        cols = []
        for sign in (1.0, -1.0):
            t = theta.copy()
            t[j] += sign * h
            gU, gV = gradient_definition(*from_active_vector(t, k, U, V), S, s)
            cols.append(active_vector(gU, gV, k))
        H[:, j] = (cols[0] - cols[1]) / (2 * h)
    return (H + H.T) / 2


# ------------------------------------------------------------------------------------------ Monte Carlo


@functools.lru_cache(maxsize=256)
def _mc_cached(key: bytes, shape: int, noise: float, n_pairs: int, seed: int) -> Estimate:
    k = shape
    arr = np.frombuffer(key, dtype=float)
    U = arr[: (k + 1) ** 2].reshape(k + 1, k + 1)
    V = arr[(k + 1) ** 2: 2 * (k + 1) ** 2].reshape(k + 1, k + 1)
    S = arr[2 * (k + 1) ** 2:].reshape(k, k)
    rng = np.random.default_rng(seed)
    iu = np.triu_indices(k)
    vals, feats = [], []
    for start in range(0, n_pairs, 50_000):
        m = min(50_000, n_pairs - start)
        W = rng.standard_normal((m, k))
        vals.append(0.5 * (_conditional_moment(U, V, S, noise, W) + _conditional_moment(U, V, S, noise, -W)))
        feats.append((W[:, :, None] * W[:, None, :])[:, iu[0], iu[1]] - np.eye(k)[iu])
    f, phi = np.concatenate(vals), np.concatenate(feats)
    X = phi - phi.mean(axis=0)
    beta = np.linalg.lstsq(X, f - f.mean(), rcond=None)[0]
    resid = f - phi @ beta  # phi has known mean 0 (E w_i w_j = delta_ij): f - beta^T phi keeps the mean of f
    return Estimate(float(resid.mean()), float(resid.std(ddof=phi.shape[1] + 1) / math.sqrt(resid.size)), int(resid.size))


def risk_definition_mc(U, V, Sigma, noise, n_pairs: int, seed, *, rel_stderr: float | None = None,
                       max_pairs: int = 4_000_000) -> Estimate:
    r"""Monte Carlo of R_\infty from its definition: tasks w ~ N(0, I_d) in antithetic pairs (w, -w); per task
    the exact mean over (x_q, \varepsilon_q) of 1/2 (p_\infty - y_q)^2 (its second moment) with \Gamma_w built from w;
    control variates w_i w_j - \delta_{ij} (mean 0 by definition of N(0, I)), coefficients by least squares.
    ``seed`` is an int (or a Generator, from which one int is drawn).  The closed form is never used.

    With ``rel_stderr`` the run of ``n_pairs`` is a pilot: when its standard error exceeds ``rel_stderr`` x |mean|,
    the estimate is recomputed from the same seed with the number of pairs that reaches it (at most
    ``max_pairs``), so the power of a z-test does not depend on the luck of the point.

    >>> from verify.icl.risk import bayes_point
    >>> U, V = bayes_point([[2.0]])
    >>> est = risk_definition_mc(0.5 * U, V, [[2.0]], 0.5, n_pairs=1000, seed=0)
    >>> abs(est.z(risk_definition_gh(0.5 * U, V, [[2.0]], 0.5))) < 5
    True
    """
    U, V, S, s = _validate(U, V, Sigma, noise)
    n_pairs = positive_int(n_pairs, "n_pairs", minimum=100)
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(2**63))
    k = S.shape[0]
    key = np.concatenate([U.ravel(), V.ravel(), S.ravel()]).astype(float).tobytes()
    est = _mc_cached(key, k, float(s), n_pairs, int(seed))
    if rel_stderr is not None and est.stderr > rel_stderr * abs(est.mean):
        need = int(math.ceil(n_pairs * (est.stderr / (rel_stderr * abs(est.mean))) ** 2 * 1.1))
        est = _mc_cached(key, k, float(s), min(max(need, n_pairs), int(max_pairs)), int(seed))
    return est


def finite_gap_sample(U, V, Sigma, noise, L: int, n_prompts: int, rng) -> tuple[Estimate, float]:
    r"""What an estimate of R_L(U, V) - (a claimed limit) needs, independently of the claim:

        (paired Monte Carlo of R_L - R_\infty,  R_\infty from the definition by exact Gauss-Hermite).

    The first keeps the variance reduction of :func:`verify.icl.risk.icl_risk_gap_mc` (same prompts for both
    risks, control variates); its R_\infty is the definition's p_\infty, never a closed form.  One int is drawn
    from ``rng``.  :func:`gap_to_limit` turns it into the estimate for any limit."""
    U, V, S, s = _validate(U, V, Sigma, noise)
    seed = int(rng.integers(2**63))
    est = icl_risk_gap_mc(U, V, S, L=int(L), n_prompts=int(n_prompts), seed=seed, noise=s)
    return est, risk_definition_gh(U, V, S, s)


def gap_to_limit(sample: tuple[Estimate, float], limit: float) -> Estimate:
    r"""An unbiased estimate of R_L - ``limit`` from :func:`finite_gap_sample`: the paired estimate of R_L - R_\infty
    shifted by the exact R_\infty(definition) - limit (float64 rounding).  With the right limit the mean is
    R_L - R_\infty -> 0 like 1/L; a wrong limit shifts every L by the same amount: a plateau, or a negative gap."""
    est, r_definition = sample
    shift = r_definition - float(limit)
    return Estimate(est.mean + shift, est.stderr, est.n, ess=est.ess, warning=est.warning)  # keeps an ESS flag


def gap_to_subject(U, V, Sigma, noise, L: int, n_prompts: int, rng, limit: float) -> Estimate:
    """:func:`gap_to_limit` of a fresh :func:`finite_gap_sample`: an unbiased estimate of R_L(U, V) - ``limit``."""
    return gap_to_limit(finite_gap_sample(U, V, Sigma, noise, L, n_prompts, rng), limit)


# ------------------------------------------------------------------------------------- minimizer points
# A spec is what a statement about minimizers quantifies over (Sigma, b, s, a, the free entries); which (U, V)
# it names is the claim under test (a subject), built by minimizer_uv from a formula for U11.


def minimizer_specs(rng, dims) -> list[dict]:
    """Per d: a member of (F1) with random b, Sigma, s in [0.1, 0.5] and random free entries; the paper's point
    (U_*, V_*) (the (F1) member with b = tr(Sigma^-2)^{1/4}, free entries 0); at d = 1 also (F2) with random a."""
    specs = []
    for k in dims:
        S = random_covariance(k, rng)
        noise = float(rng.uniform(0.1, 0.5))
        b_ = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 2.0))
        free = (rng.standard_normal((k + 1, k + 1)), rng.standard_normal((k + 1, k + 1)))
        direction = rng.standard_normal(k)
        Si = np.linalg.inv(S)
        b_star = float(np.trace(Si @ Si) ** 0.25)
        zero = (np.zeros((k + 1, k + 1)), np.zeros((k + 1, k + 1)))
        specs.append({"label": f"F1 d={k}", "dim": k, "family": "F1", "Sigma": S, "s": noise, "b": b_, "free": free,
                      "direction": direction})
        specs.append({"label": f"U*,V* d={k}", "dim": k, "family": "F1", "Sigma": S, "s": noise, "b": b_star,
                      "free": zero, "direction": direction})
        if k == 1:
            a_ = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0))
            specs.append({"label": "F2 d=1", "dim": 1, "family": "F2", "Sigma": S, "s": noise, "b": 0.0, "a": a_,
                          "free": free, "direction": direction})
    return specs


def minimizer_uv(spec: dict, U11_of, u_of_a=None):
    """(U, V) of a spec: (F1) U11 = U11_of(Sigma, b), u = 0, a = 0, V[d, d] = b; (F2) U11 = 0, b = 0, a = spec a,
    u = u_of_a(a, Sigma); the free entries (last column of U, first d rows of V) from the spec."""
    k, S = spec["dim"], spec["Sigma"]
    U, V = (np.array(X, dtype=float) for X in spec["free"])
    if spec["family"] == "F1":
        U[:k, :k] = U11_of(S, spec["b"])
        U[k, :k] = 0.0
        V[k, :k] = 0.0
        V[k, k] = spec["b"]
    else:
        U[0, 0], V[1, 1], V[1, 0] = 0.0, 0.0, spec["a"]
        U[1, 0] = u_of_a(spec["a"], S[0, 0])
    return U, V


def truncated_zero_uv(spec: dict):
    r"""A zero of the truncated risk (R_\infty without its cross and quartic terms, c_0 = 0 and M = 0) with u != 0:
    u = the spec's direction, a = \lambda u with \lambda^2 u^T\Sigma u - \lambda - b^2 s^2 = 0 (the positive root),
    U11^T = (I - u a^T\Sigma)\Sigma^{-1}/b.  Not a minimizer of R_\infty: what a truncated formula would predict."""
    k, S, b_, s_ = spec["dim"], spec["Sigma"], spec["b"] or 1.0, spec["s"]
    U, V = (np.array(X, dtype=float) for X in spec["free"])
    uu = np.asarray(spec["direction"], dtype=float)
    q = float(uu @ S @ uu)
    lam = (1.0 + math.sqrt(1.0 + 4.0 * q * b_ * b_ * s_ * s_)) / (2.0 * q)
    aa = lam * uu
    U[:k, :k] = ((np.eye(k) - np.outer(uu, aa) @ S) @ np.linalg.inv(S) / b_).T
    U[k, :k] = uu
    V[k, :k] = aa
    V[k, k] = b_
    return U, V


def perturbed_points(d: int = 3, rho: float = 0.5, noise: float = 0.3) -> list[dict]:
    """Near the paper's point at Toeplitz(rho), d = 3: 1.01 U_* (the reviewer's point: u = a = 0), and U_*, V_*
    with u = 0.05 e_1, a = 0.05 e_2 (every term of the excess active)."""
    S = toeplitz_sigma(d, rho)
    U, V = bayes_point(S)
    U2, V2 = U.copy(), V.copy()
    U2[d, 0], V2[d, 1] = 0.05, 0.05
    return [{"label": "1.01 U*", "U": 1.01 * U, "V": V, "Sigma": S, "s": noise, "dim": d},
            {"label": "U*, V* with u = 0.05 e1, a = 0.05 e2", "U": U2, "V": V2, "Sigma": S, "s": noise, "dim": d}]


def rank_one_points(rng, n: int = 3) -> list[dict]:
    """The (F2) recipe carried to d = 2: b = 0, U11 = 0, u = e_1, a = Sigma^{-1} e_1 (u a^T Sigma = e_1 e_1^T), random
    Sigma; the first point noiseless."""
    pts = []
    for j in range(n):
        S = random_covariance(2, rng)
        U, V = np.zeros((3, 3)), np.zeros((3, 3))
        U[2, :2] = [1.0, 0.0]
        V[2, :2] = np.linalg.solve(S, [1.0, 0.0])
        pts.append({"label": f"d=2 recipe {j}", "U": U, "V": V, "Sigma": S, "s": 0.0 if j == 0 else 0.3, "dim": 2})
    return pts


def excess_definition(p: dict) -> float:
    """R_\\infty - s^2/2 at a point {U, V, Sigma, s} from the definition (:func:`risk_definition_gh`)."""
    return risk_definition_gh(p["U"], p["V"], p["Sigma"], p["s"]) - p["s"] ** 2 / 2


# ------------------------------------------------------------------------------ figures of the minimizer checks


def risk_gap_at_claim(spec, claim):
    """|R_inf(definition) - claimed value| at the (U, V) a claim names for a spec (claim: spec -> (U, V, value))."""
    U, V, value = claim(spec)
    return abs(risk_definition_gh(U, V, spec["Sigma"], spec["s"]) - value)


def gradient_size_at_claim(spec, claim):
    """max |gradient| at the claimed (U, V): the definition's (under the integral) and the closed-form gradient."""
    U, V, _ = claim(spec)
    g = [np.abs(x).max() for x in gradient_definition(U, V, spec["Sigma"], spec["s"])]
    return max(g + [np.abs(x).max() for x in icl_risk_gradient(U, V, spec["Sigma"], spec["s"])])


def min_eigenvalue_at_claim(spec, claim):
    """Smallest eigenvalue / max(1, largest) of the definition's Hessian at the claimed (U, V)."""
    U, V, _ = claim(spec)
    ev = np.linalg.eigvalsh(hessian_definition(U, V, spec["Sigma"], spec["s"]))
    return ev.min() / max(1.0, ev.max())


def agreement_if_excess(floor: float, grad_floor: float = 0.0):
    """Relative agreeing digits of the claimed excess with the definition's, 0 unless the definition's excess is
    >= ``floor`` (and its gradient >= ``grad_floor``): the point must clearly not be a minimizer."""
    def figure(p, subject):
        ref = excess_definition(p)
        if ref < floor:
            return 0.0
        if grad_floor and max(np.abs(g).max() for g in gradient_definition(p["U"], p["V"], p["Sigma"], p["s"])) < grad_floor:
            return 0.0
        err = abs(subject(p) - ref) / ref
        return 16.0 if err == 0 else float(min(16.0, -np.log10(err)))
    return figure


def finite_prompt_z(point, bayes, Ls=(10, 100, 1000), prompts=(20000, 20000, 30000)):
    """min z of (R_L - claimed Bayes risk > 0) and of its decrease in L, at (U_*, V_*) (paired estimator plus the
    exact definition-minus-claim, :func:`verify.icl.references.gap_to_subject`)."""
    S = toeplitz_sigma(point["d"], 0.5)
    U, V = bayes_point(S)
    rng = np.random.default_rng(point["seed"])
    gaps = [gap_to_subject(U, V, S, point["s"], L, n, rng, bayes(point["s"])) for L, n in zip(Ls, prompts)]
    zs = [g.mean / g.stderr for g in gaps] + [(g - h).mean / (g - h).stderr for g, h in zip(gaps, gaps[1:])]
    return min(zs)
