r"""Independent references for the ICL statements (Sec. 5): R_\infty from its DEFINITION, never its closed form.

    R_\infty(U, V) = 1/2 E_{w, x_q, \varepsilon_q} (p_\infty - y_q)^2,   p_\infty = e_{d+1}^T V \Gamma_w U (x_q, 0),
    y_q = w^T x_q + \varepsilon_q,   \Gamma_w = [[\Sigma, \Sigma w], [w^T\Sigma, w^T\Sigma w + s^2]]  (built per node).

Exact arithmetic (points with dyadic-rational entries, :func:`random_point`):

* :func:`icl_risk_infinite_quadrature` -- Gauss-Hermite (mpmath) of the definition over (w, x_q, \varepsilon_q),
  exact on this integrand (degree <= 4 per coordinate); :func:`definition_quadrature` at an exact point;
* :func:`icl_risk_gradient_quadrature_fd` -- 40-digit central differences of that quadrature;
* :func:`task_moments` -- the same rule over w only (3^d nodes), the query by its second moments, with the
  gradient under the integral and the moments of the normal equations; :func:`minimizer_U11` -- the argmin
  over U11 (u = 0) of the definition;
* :func:`claim_grid`, :func:`claim_values` -- the exact points of the ICL claims of ``verify claim`` and the
  numeric values of their symbols.

Float64:

* :func:`risk_definition_gh` -- the 3-node tensor Gauss-Hermite rule of the definition, vectorised (any d <= 6);
* :func:`gradient_definition` -- the gradient in all entries of U and V by differentiating the definition
  under the integral sign (p_\infty is bilinear in (U, V): \partial p/\partial U_{ij} = (\Gamma_w v)_i x_j,
  \partial p/\partial V_{d+1,k} = (\Gamma_w U (x_q,0))_k), on the same exact rule; :func:`hessian_definition` --
  central differences of that gradient (exact: R_\infty has degree <= 2 in every single entry);
* :func:`risk_definition_mc` -- Monte Carlo over w (antithetic pairs, degree-2 Hermite control variates of
  known mean 0), the query by its second moments per sample;
* :func:`finite_gap_sample` / :func:`gap_to_limit` -- R_L - (a claimed limit) for the finite-L rate checks:
  paired Monte Carlo of R_L - R_\infty (:func:`verify.icl.risk.icl_risk_gap_mc`, whose R_\infty is the
  definition's p_\infty) plus the exact R_\infty(definition) - limit, so a wrong limit leaves a plateau.

>>> from verify.icl.risk import bayes_point
>>> U, V = bayes_point([[2.0]])
>>> round(risk_definition_gh(U, V, [[2.0]], noise=0.5), 12)
0.125
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
import sympy as sp
from mpmath import mp

from verify.icl.gradient import icl_active_vector, icl_from_active_vector
from verify.icl.risk import _noise, _sigma, _uv, gamma_w, icl_risk_gap_mc
from verify.numerics.differences import hessian_fd
from verify.numerics.montecarlo import Estimate
from verify.numerics.quadrature import gaussian_expectation, hermite_rule, hermite_rule_float
from verify.numerics.strategies import random_covariance
from verify._validation import as_matrix, covariance, nonnegative_float, positive_int

__all__ = [
    "DPS",
    "REF_DPS",
    "dyadic",
    "random_point",
    "exact_point",
    "blocks",
    "float_point",
    "mpf",
    "icl_risk_infinite_quadrature",
    "definition_quadrature",
    "icl_risk_gradient_quadrature_fd",
    "risk_definition_gh",
    "gradient_definition",
    "hessian_definition",
    "risk_definition_mc",
    "finite_gap_sample",
    "gap_to_limit",
    "gap_to_subject",
    "task_moments",
    "minimizer_U11",
    "to_mp",
    "mp_rows",
    "mp_matrix",
    "claim_values",
    "project_invariant",
    "CLAIM_DIMS",
    "CLAIM_KINDS",
    "claim_cases",
    "claim_grid",
]

DPS = 40
"""Working digits of the 40-digit references."""
REF_DPS = 50
"""Working digits of the claim references."""

# ------------------------------------------------------------------------------------------ exact points


def dyadic(value: float, bits: int = 10) -> sp.Rational:
    """The nearest multiple of 2^-bits, as an exact rational (exact in SymPy, mpmath and float64).

    >>> dyadic(0.3), dyadic(-1.0)
    (307/1024, -1)
    """
    return sp.Rational(int(round(float(value) * 2**bits)), 2**bits)


def random_point(dim: int, rng, noise: bool = True) -> dict:
    """A random (U, V, Sigma, s) with dyadic-rational entries (exact in SymPy, mpmath and float64)."""
    S = random_covariance(dim, rng, floor=0.4)
    S = sp.ImmutableMatrix(dim, dim, lambda i, j: dyadic(S[min(i, j), max(i, j)]))
    Um = sp.ImmutableMatrix(dim + 1, dim + 1, lambda i, j: dyadic(0.6 * rng.standard_normal()))
    Vm = sp.ImmutableMatrix(dim + 1, dim + 1, lambda i, j: dyadic(0.6 * rng.standard_normal()))
    sv = dyadic(0.2 + 0.6 * rng.random()) if noise else sp.Integer(0)
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
    """An exact rational as an mpf at the working precision."""
    q = sp.Rational(q)
    return mp.mpf(q.p) / q.q


# ------------------------------------------------------------------------------------------ 40-digit definition


def icl_risk_infinite_quadrature(U, V, Sigma, noise=0.0, dps: int = 40):
    r"""R_\infty(U, V) from its DEFINITION, by Gauss-Hermite quadrature over (w, x_q, \varepsilon_q):

        R_\infty = \tfrac12 E[(e_{d+1}^T V \Gamma_w U (x_q, 0) - w^T x_q - \varepsilon_q)^2],

    with \Gamma_w = [[\Sigma, \Sigma w], [w^T\Sigma, w^T\Sigma w + s^2]] built from each node w.  The integrand
    is a polynomial of degree <= 4 in each coordinate, so the 3-node rule per dimension is exact: the
    result is exact up to the working precision ``dps``.  Entries may be floats, mpf or SymPy rationals,
    all converted exactly (rationals to the working precision).  3^{2d+1} nodes: meant for d <= 3.
    The closed form is never used.

    >>> from verify.icl.risk import bayes_point
    >>> U, V = bayes_point([[2.0]])
    >>> mp.nstr(icl_risk_infinite_quadrature(U, V, [[2.0]], noise=0.5, dps=30), 20)
    '0.125'
    """
    def exact(x):  # SymPy rationals and mpf keep every digit; floats convert exactly
        if hasattr(x, "p") and hasattr(x, "q"):
            return mp.mpf(int(x.p)) / int(x.q)
        return mp.mpf(x) if isinstance(x, mp.mpf) else mp.mpf(float(x))

    def rows(M):
        return [list(r) for r in (M.tolist() if hasattr(M, "tolist") else M)]

    S_np = _sigma(np.array(rows(Sigma), dtype=float))  # validation on float copies
    k = S_np.shape[0]
    _uv(np.array(rows(U), dtype=float), np.array(rows(V), dtype=float), k)
    _noise(float(noise))
    positive_int(dps, "dps")
    with mp.workdps(dps + 10):
        Um = [[exact(x) for x in row] for row in rows(U)]
        Vrow = [exact(x) for x in rows(V)[k]]
        S = [[exact(x) for x in row] for row in rows(Sigma)]
        s2 = exact(noise) ** 2

    def loss(z):
        wv, xv, e = z[:k], z[k:2 * k], z[2 * k]
        Sw = [mp.fsum(S[i][j] * wv[j] for j in range(k)) for i in range(k)]
        G = [[S[i][j] for j in range(k)] + [Sw[i]] for i in range(k)]
        G.append(Sw + [mp.fsum(wv[i] * Sw[i] for i in range(k)) + s2])
        h = [mp.fsum(Um[i][j] * xv[j] for j in range(k)) for i in range(k + 1)]  # U (x_q, 0)
        Gh = [mp.fsum(G[i][j] * h[j] for j in range(k + 1)) for i in range(k + 1)]
        pred = mp.fsum(Vrow[i] * Gh[i] for i in range(k + 1))
        y = mp.fsum(wv[i] * xv[i] for i in range(k)) + e
        return (pred - y) ** 2 / 2

    with mp.workdps(dps + 10):
        cov = mpmath.zeros(2 * k + 1, 2 * k + 1)
        for i in range(k):
            cov[i, i] = 1
            for j in range(k):
                cov[k + i, k + j] = S[i][j]
        cov[2 * k, 2 * k] = s2
    return gaussian_expectation(loss, [0] * (2 * k + 1), cov, n=3, dps=dps)


def definition_quadrature(point: dict, dps: int = DPS):
    """R_\\infty at an exact ``point`` from its DEFINITION (:func:`icl_risk_infinite_quadrature`, rational entries
    kept exact)."""
    return icl_risk_infinite_quadrature(point["U"], point["V"], point["Sigma"], point["s"], dps=int(dps))


def icl_risk_gradient_quadrature_fd(U, V, Sigma, noise=0.0, dps: int = 40, h: str = "1e-12"):
    r"""Central differences (step ``h``, at ``dps`` digits) of :func:`icl_risk_infinite_quadrature`, the
    Gauss-Hermite quadrature of the *definition* 1/2 E[(p_\infty - y_q)^2]: neither the closed form of
    R_\infty nor its gradient is used.  Error O(h^2) ~ 1e-24 plus rounding 10^{-dps}/h.  3^{2d+1} nodes per
    evaluation, 4 (d+1)^2 evaluations: meant for d <= 2.  Returns (gU, gV) as float64 arrays."""
    S = _sigma(Sigma)
    d = S.shape[0]
    U, V = _uv(U, V, d)
    noise = nonnegative_float(noise, "noise")
    out = []
    with mp.workdps(dps):
        step = mp.mpf(h)
        for which in (0, 1):
            M = U if which == 0 else V
            G = np.zeros((d + 1, d + 1))
            for i in range(d + 1):
                for j in range(d + 1):
                    def f(x):
                        Mx = [[mp.mpf(float(v)) for v in row] for row in M]
                        Mx[i][j] += x
                        args = (Mx, V) if which == 0 else (U, Mx)
                        return icl_risk_infinite_quadrature(*args, S, noise, dps=dps)
                    G[i, j] = float((f(step) - f(-step)) / (2 * step))
            out.append(G)
    return tuple(out)


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


def gradient_definition(U, V, Sigma, noise=0.0, query_cov=None) -> tuple[np.ndarray, np.ndarray]:
    r"""The gradient of R_\infty in all entries of U and V, differentiating the DEFINITION under the integral:

        \partial R/\partial U_{ij} = E[(p - y_q) q_i x_j],   \partial R/\partial V_{d+1,k} = E[(p - y_q)(\Gamma_w U (x_q,0))_k],
        q = \Gamma_w^T V^T e_{d+1},  j <= d;  the other entries (last column of U, first d rows of V) give 0,

    on the exact Gauss-Hermite rule of :func:`risk_definition_gh`.  Neither the closed form nor its gradient is used.
    ``query_cov`` (default \Sigma): the query x_q ~ N(0, query_cov) while the prompt tokens keep \Sigma -- the
    mismatched model of Sec. 7, which no closed form of R_\infty(U, V; \Sigma) covers.

    >>> gU, gV = gradient_definition(np.zeros((2, 2)), np.eye(2), [[1.0]])
    >>> gU.round(12).tolist(), gV.round(12).tolist()
    ([[-1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]])
    """
    U, V, S, s = _validate(U, V, Sigma, noise)
    k = S.shape[0]
    if k > 6:
        raise ValueError(f"Sigma: the tensor rule needs d <= 6, got d = {k}")
    Sq = S if query_cov is None else covariance(query_cov, "query_cov", k)
    W, ww = _grid(k)
    X, wx, e, we = _query_rule(Sq, s)
    r, q, G = _coefficients(U, V, S, s, W)
    D = (r - W) @ X.T  # E over eps of (p - y_q) = p - w^T x_q (the eps nodes are symmetric, weights sum to 1)
    D = sum(wk * (D - ek) for ek, wk in zip(e, we))
    T = (D * wx) @ X  # T[w] = E_x[(p - y) x_q]  (nw, d)
    gU = np.zeros((k + 1, k + 1))
    gU[:, :k] = np.einsum("n,ni,nj->ij", ww, q, T)
    gV = np.zeros((k + 1, k + 1))
    gV[k] = np.einsum("n,nki,ij,nj->k", ww, G, U[:, :k], T)
    return gU, gV


def hessian_definition(U, V, Sigma, noise=0.0, h: float = 0.5) -> np.ndarray:
    r"""Hessian of R_\infty in the active entries (:func:`verify.icl.gradient.icl_active_vector`): central
    differences (step ``h``, :func:`verify.numerics.differences.hessian_fd`) of :func:`gradient_definition`.
    R_\infty has degree <= 2 in every single entry (p_\infty is linear in each), so its partial derivatives do
    too and the central difference is exact for any h (up to rounding)."""
    U, V, S, s = _validate(U, V, Sigma, noise)
    k = S.shape[0]

    def grad(theta):
        gU, gV = gradient_definition(*icl_from_active_vector(theta, k, U, V), S, s)
        return icl_active_vector(gU, gV, k)

    return hessian_fd(grad, icl_active_vector(U, V, k), float(h), richardson=False)


# ------------------------------------------------------------------------------------------ Monte Carlo


def _definition_mc(U, V, S, noise: float, n_pairs: int, seed: int) -> Estimate:
    k = S.shape[0]
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
    est = _definition_mc(U, V, S, float(s), n_pairs, int(seed))
    if rel_stderr is not None and est.stderr > rel_stderr * abs(est.mean):
        need = int(math.ceil(n_pairs * (est.stderr / (rel_stderr * abs(est.mean))) ** 2 * 1.1))
        est = _definition_mc(U, V, S, float(s), min(max(need, n_pairs), int(max_pairs)), int(seed))
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


# ------------------------------------------------------------------------------------------ claim references
#
# ``verify claim`` compares a user's formula with references at exact points, d = 1..5.  Two references, neither
# of which sees a closed form: the full rule over (w, x_q, eps_q) (:func:`definition_quadrature`, 3^{2d+1} nodes)
# and :func:`task_moments`: the same rule over w only (3^d nodes, 243 at d = 5), with (x_q, eps_q) integrated by
# their second moments.  Per node w, Gamma_w is built, p_inf = x_q^T r(w) with r(w) = U_{:,1:d}^T Gamma_w^T V^T
# e_{d+1} (the definition's product, entry by entry) and h = r(w) - w; then
#
#     E_{x_q, eps_q} 1/2 (x_q^T h - eps_q)^2 = 1/2 (h^T Sigma h + s^2)       (E x x^T = Sigma, E x eps = 0),
#
# a quadratic form's mean, not the closed form (whose content, the fourth moments of w through Gamma_w, is left
# to the quadrature).  The integrand in w has degree <= 4 per coordinate: the rule is exact.  Differentiating
# under the integral (p_inf is bilinear in (U, V); q = Gamma_w^T V^T e_{d+1}):
#
#     dR/dU_ij = E_w[q_i (Sigma h)_j]  (j <= d),     dR/dV_{d+1,k} = E_w[(Gamma_w U_{:,1:d} Sigma h)_k],
#
# also exact.  R is a quadratic in U_{:,1:d} (p_inf is linear in U): the minimizer over U11 with the last row
# u = 0 solves the normal equations E[q_{1:d} q_{1:d}^T] U11 = E[q_{1:d} w^T] (:func:`minimizer_U11`).


def to_mp(x):
    """An exact mpf of a SymPy rational, an mpf or a float (SymPy irrationals to the working precision)."""
    if isinstance(x, mpmath.mpf):
        return x
    if isinstance(x, (sp.Rational, sp.Integer)):
        return mp.mpf(int(x.p)) / int(x.q)
    if isinstance(x, sp.Basic):
        return mp.mpf(str(sp.N(x, mp.dps + 10)))
    return mp.mpf(float(x))


def mp_rows(M) -> list:
    """The rows of a SymPy, numpy, mpmath matrix or nested list, as lists of exact mpf (:func:`to_mp`)."""
    if isinstance(M, mpmath.matrix):
        return [[to_mp(M[i, j]) for j in range(M.cols)] for i in range(M.rows)]
    if hasattr(M, "tolist"):
        M = M.tolist()
    return [[to_mp(x) for x in row] for row in M]


def mp_matrix(rows) -> mpmath.matrix:
    """An mpmath matrix from rows."""
    return mpmath.matrix([list(r) for r in rows])


def task_moments(U, V, Sigma, noise, dps: int = REF_DPS, gradient: bool = False, normal: bool = False) -> dict:
    r"""E over (w, x_q, \varepsilon_q) of the definition, w by the exact 3-node tensor rule (3^d nodes), the query
    by its second moments (see the comment above).  Returns ``{"risk": mpf}`` plus, with ``gradient``,
    ``"gU"``, ``"gV"`` ((d+1) x (d+1) mpmath matrices, \partial R/\partial U and \partial R/\partial V; 0 on the
    unused entries) and, with ``normal``, ``"Eqq"`` = E[q q^T], ``"Eqw"`` = E[q w^T] (q = \Gamma_w^T V^T e_{d+1})
    and ``"Eww"`` = E[w w^T] on the same rule.  Entries: SymPy rationals, mpf or floats, all exact.  The closed
    form is never used.

    >>> from verify.icl.risk import bayes_point
    >>> U, V = bayes_point([[2.0]])
    >>> with mp.workdps(30):
    ...     mp.nstr(task_moments(U, V, [[2.0]], 0.5)["risk"], 20)
    '0.125'
    >>> task_moments(np.zeros((3, 3)), V, [[2.0]], 0.0)
    Traceback (most recent call last):
    ...
    ValueError: U, V: expected (2, 2) matrices for Sigma of shape (1, 1)
    """
    with mp.workdps(int(dps) + 10):
        S, Um, Vm = mp_rows(Sigma), mp_rows(U), mp_rows(V)
        k = len(S)
        if len(Um) != k + 1 or len(Vm) != k + 1:
            raise ValueError(f"U, V: expected ({k + 1}, {k + 1}) matrices for Sigma of shape ({k}, {k})")
        s2 = to_mp(noise) ** 2
        v = Vm[k]
        x3, w3 = hermite_rule(3, int(dps))
        risk = mp.zero
        gU = [[mp.zero] * (k + 1) for _ in range(k + 1)]
        gV = [mp.zero] * (k + 1)
        Eqq = [[mp.zero] * (k + 1) for _ in range(k + 1)]
        Eqw = [[mp.zero] * k for _ in range(k + 1)]
        Eww = [[mp.zero] * k for _ in range(k)]
        for idx in itertools.product(range(3), repeat=k):
            w = [x3[i] for i in idx]
            om = mpmath.fprod(w3[i] for i in idx)
            Sw = [mpmath.fdot(S[i], w) for i in range(k)]
            G = [S[i] + [Sw[i]] for i in range(k)] + [Sw + [mpmath.fdot(w, Sw) + s2]]  # Gamma_w
            q = [mpmath.fdot(v, [G[j][c] for j in range(k + 1)]) for c in range(k + 1)]  # (e^T V Gamma_w)^T
            h = [mpmath.fdot(q, [Um[i][j] for i in range(k + 1)]) - w[j] for j in range(k)]  # r(w) - w
            Sh = [mpmath.fdot(S[i], h) for i in range(k)]
            risk += om * (mpmath.fdot(h, Sh) + s2) / 2
            if gradient:
                for i in range(k + 1):
                    for j in range(k):
                        gU[i][j] += om * q[i] * Sh[j]
                t = [mpmath.fdot(Um[i][:k], Sh) for i in range(k + 1)]  # U_{:,1:d} Sigma h
                for c in range(k + 1):
                    gV[c] += om * mpmath.fdot(G[c], t)
            if normal:
                oq = [om * qi for qi in q]
                for i in range(k + 1):
                    for j in range(i, k + 1):
                        Eqq[i][j] += oq[i] * q[j]
                    for j in range(k):
                        Eqw[i][j] += oq[i] * w[j]
                for i in range(k):
                    for j in range(i, k):
                        Eww[i][j] += om * w[i] * w[j]
        out = {"risk": +risk}
        if gradient:
            out["gU"] = mp_matrix(gU)
            gVm = mpmath.zeros(k + 1, k + 1)
            for c in range(k + 1):
                gVm[k, c] = gV[c]
            out["gV"] = gVm
        if normal:
            for i in range(k + 1):
                for j in range(i):
                    Eqq[i][j] = Eqq[j][i]
            for i in range(k):
                for j in range(i):
                    Eww[i][j] = Eww[j][i]
            out["Eqq"], out["Eqw"], out["Eww"] = mp_matrix(Eqq), mp_matrix(Eqw), mp_matrix(Eww)
    return out


def minimizer_U11(V, Sigma, noise, dps: int = REF_DPS, with_risk: bool = False):
    r"""argmin over U11 of R_\infty (definition) with u = 0: E[q_{1:d}q_{1:d}^T] U11 = E[q_{1:d} w^T] (normal
    equations of a quadratic in U11; the unused last column of U plays no role).  With ``with_risk`` also the
    definition's R_\infty there, from the same moments: with u = 0, p_\infty = x_q^T U11^T q_{1:d}, so

        R_\infty(U11) = 1/2 tr(\Sigma (U11^T E[qq^T] U11 - U11^T E[qw^T] - E[wq^T] U11 + E[ww^T])) + s^2/2.

    ``ValueError`` if E[q q^T] is singular (b = 0)."""
    k = len(mp_rows(Sigma))
    with mp.workdps(int(dps) + 10):
        mo = task_moments(np.zeros((k + 1, k + 1)), V, Sigma, noise, dps=dps, normal=True)
        Q = mo["Eqq"][:k, :k]
        P = mo["Eqw"][:k, :k]
        try:
            U11 = mpmath.inverse(Q) * P
        except ZeroDivisionError:
            raise ValueError("V: E[q q^T] is singular (b = 0?): the minimizer over U11 is not unique") from None
        if not with_risk:
            return U11
        S = mp_matrix(mp_rows(Sigma))
        inner = U11.T * Q * U11 - U11.T * P - P.T * U11 + mo["Eww"]
        risk = (mpmath.fsum((S * inner)[i, i] for i in range(k)) + to_mp(noise) ** 2) / 2
        return U11, risk


def claim_values(U, V, Sigma, noise, names=("U11", "u", "a", "b", "Sigma", "s", "I")) -> dict:
    """The formula symbols (mpmath values) of a point: U11, u, a, b, Sigma, s, I."""
    Ur, Vr, Sr = mp_rows(U), mp_rows(V), mp_rows(Sigma)
    k = len(Sr)
    vals = {"U11": mp_matrix([r[:k] for r in Ur[:k]]), "u": mp_matrix([[x] for x in Ur[k][:k]]),
            "a": mp_matrix([[x] for x in Vr[k][:k]]), "b": Vr[k][k], "Sigma": mp_matrix(Sr), "s": to_mp(noise),
            "I": mpmath.eye(k)}
    return {n: vals[n] for n in names}


def project_invariant(point: dict) -> dict:
    """An exact point projected on the invariant subspace: U = diag(U11, 0), V = b e_{d+1} e_{d+1}^T."""
    k = point["dim"]
    Um = sp.Matrix(point["U"])
    Vm = sp.zeros(k + 1, k + 1)
    Um[k, :] = sp.zeros(1, k + 1)
    Um[:, k] = sp.zeros(k + 1, 1)
    Vm[k, k] = point["V"][k, k]
    return dict(point, U=sp.ImmutableMatrix(Um), V=sp.ImmutableMatrix(Vm))


CLAIM_DIMS = (1, 2, 3, 4, 5)
"""Dimensions of the exact points of the ICL risk and gradient claims."""
CLAIM_KINDS = (("generic", True), ("generic", False), ("invariant", True), ("invariant", False))
"""Per d, the four kinds of point: (off / on the invariant subspace, label noise s > 0 / s = 0)."""
_CLAIM_SALT = 57  # the claims' random stream: default_rng([seed, _CLAIM_SALT, d, kind])


def claim_cases(kind: str, noise: bool) -> frozenset:
    """The hypotheses a point of ``kind`` satisfies: ``invariant-subspace``, ``noiseless`` (s = 0)."""
    return frozenset(({"invariant-subspace"} if kind == "invariant" else set()) | (set() if noise else {"noiseless"}))


def claim_grid(seed: int) -> list:
    """(dim, cases, exact point) for every d of :data:`CLAIM_DIMS` and kind of :data:`CLAIM_KINDS`, each point
    from its own stream ``default_rng([seed, 57, d, kind])``; the invariant ones projected
    (:func:`project_invariant`).  Same seed, same points."""
    out = []
    for k in CLAIM_DIMS:
        for j, (kind, noise) in enumerate(CLAIM_KINDS):
            pt = random_point(k, np.random.default_rng([int(seed), _CLAIM_SALT, k, j]), noise=noise)
            out.append((k, claim_cases(kind, noise), project_invariant(pt) if kind == "invariant" else pt))
    return out
