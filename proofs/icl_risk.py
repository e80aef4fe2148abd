r"""Sec. 5 (in-context linear regression): the ICL risk at infinite prompt length R_\infty(U, V), Eq. (8).

**Setting.**  w ~ N(0, I_d); tokens z_i = (x_i, y_i), x_i ~ N(0, \Sigma), y_i = w^T x_i + \epsilon_i; query (x_q, 0)
with target y_q = w^T x_q + \epsilon_q; \epsilon ~ N(0, s^2) (s = 0 is the paper's noiseless model).  Given w,
z_i ~ N(0, \Gamma_w), \Gamma_w = [[\Sigma, \Sigma w], [w^T\Sigma, w^T\Sigma w + s^2]].  By Lemma 2.1 (centred
Gaussian) the infinite-prompt prediction is p_\infty = e_{d+1}^T V \Gamma_w U (x_q, 0), and

    R_\infty(U, V) = 1/2 E_w E_{x_q, \epsilon_q} (p_\infty - y_q)^2.

**Statement (closed form for general U, V).**  With U_{11} = U[:d,:d], u = U[d,:d]^T, a = V[d,:d]^T, b = V[d,d],

    c_0 = U_{11}^T \Sigma a + b s^2 u,     M = b U_{11}^T \Sigma + u a^T \Sigma - I_d,
    R_\infty = 1/2 [ c_0^T\Sigma c_0 + 2 b tr(\Sigma) c_0^T\Sigma u + b^2 (u^T\Sigma u)((tr\Sigma)^2 + 2 tr(\Sigma^2))
                     + tr(M^T \Sigma M) + s^2 ].

On the invariant subspace U = diag(A, 0), V = b e_{d+1} e_{d+1}^T it is the paper's
1/2 tr((b\Sigma A - I)\Sigma(b\Sigma A - I)^T) (+ s^2/2 with label noise).

**Proof.**  (i) block multiplication: p_\infty = x_q^T g(w), g(w) = c_0 + (M + I) w + b u (w^T\Sigma w);
(ii) E over x_q ~ N(0,\Sigma), \epsilon_q: 1/2[(g - w)^T\Sigma(g - w) + s^2]; (iii) Isserlis over w:
E w = 0, E w^T A w = tr A, E (w^T A w) c^T w = 0, E (w^T A w)(w^T B w) = tr A tr B + tr AB + tr AB^T.
Every step is checked for *every* d by the matrix-level canonical forms and Isserlis contraction of
:mod:`verify.symbolic`; independently the whole expectation is recomputed from the definition with
explicit entries at d = 1, 2, 3 (Isserlis on monomials), and numerically (Gauss-Hermite, Monte Carlo).
"""

from __future__ import annotations

import mpmath
import numpy as np
import sympy as sp
from mpmath import mp
from sympy import BlockMatrix, Identity, MatrixSymbol, ZeroMatrix

from verify.claims import Check, Statement, at_least, at_most
from verify.derivation import Derivation, relation
from verify.icl_symbolic import (
    A, C0, CLOSED_FORM, DEFINITION_INTEGRAND, E_LAST, G_W, GAMMA_W, HALF, I1, INVARIANT_FORM, M_, PREDICTION, Q_W, QUERY, SYM,
    U11, U12, U22, U_BLOCKS, V11, V12, V_BLOCKS, Id, Sigma, a, b, c0_of, closed_form_of, d, eps, M_of, s, u, w, x,
)
from verify.formula import ClaimPoint, ClaimSpec, agreeing_digits
from verify.icl import fit_rate, icl_risk_gap_mc, icl_risk_infinite_mc, icl_risk_infinite_quadrature
from verify.montecarlo import DEFAULT_Z
from verify.strategies import random_covariance
from verify.symbolic import (
    explicit_at,
    explicit_expectation_equal,
    gaussian_mean,
    matexpr_equal,
    matrix_expectation_equal,
    quadratic_form_mean,
    quadratic_form_product_mean,
    quadratic_times_linear_mean,
    trace,
)

DPS = 40
DIGITS_REQUIRED = 30
NODES = 3  # Gauss-Hermite nodes per dimension: exact to degree 5; the integrand has degree 4 in w, 2 in x_q, eps

# --------------------------------------------------------------------------------------- the objects
# (one copy, in the engine: verify.icl_symbolic)
"""1/2 tr((b\\Sigma A - I)\\Sigma(b\\Sigma A - I)^T) + s^2/2: the paper's reduced form (+ label noise)."""

CLOSED_TEX = (r"\tfrac12\Big[c_0^\top\Sigma c_0 + 2b\,\mathrm{tr}(\Sigma)\,c_0^\top\Sigma u"
              r" + b^2(u^\top\Sigma u)\big((\mathrm{tr}\,\Sigma)^2 + 2\,\mathrm{tr}(\Sigma^2)\big)"
              r" + \mathrm{tr}(M^\top\Sigma M) + s^2\Big]")
G_TEX = r"x_q^\top\big(c_0 + (M + I_d)w + b\,u\,(w^\top\Sigma w)\big)"

STATEMENT_TEX = (
    r"\mathcal R_\infty(U,V) = \tfrac12\,\mathbb E_w\mathbb E_{x_q,\varepsilon_q}\big(e_{d+1}^\top V\Gamma_w U(x_q,0)"
    r" - y_q\big)^2 = " + CLOSED_TEX + r",\\ c_0 = U_{11}^\top\Sigma a + b s^2 u,\quad "
    r"M = bU_{11}^\top\Sigma + u a^\top\Sigma - I_d,"
    r"\quad U_{11} = U_{1:d,1:d},\ u = U_{d+1,1:d}^\top,\ a = V_{d+1,1:d}^\top,\ b = V_{d+1,d+1}."
)

# ------------------------------------------------------------------------------------- relations

GENERAL = relation("matrix algebra, every d (1x1 factors commute and equal their transposes; Sigma symmetric)",
                   lambda l, r: matexpr_equal(l, r, SYM))
E_QUERY = relation("E over x_q ~ N(0, Sigma), eps_q ~ N(0, s^2) by matrix-level Isserlis, every d",
                   lambda l, r: matrix_expectation_equal(l, r, [(x, Sigma)], SYM, {eps: s**2}))
E_TASK = relation("E over w ~ N(0, I_d) by matrix-level Isserlis, every d",
                  lambda l, r: matrix_expectation_equal(l, r, [(w, None)], SYM))


def _both(first, second):
    def test(lhs, rhs):
        ok1, d1 = first(lhs, rhs)
        if not ok1:
            return False, d1
        ok2, d2 = second(lhs, rhs)
        return ok2, f"{d1}; {d2}"

    return test


E_TASK_CROSS = relation(
    "E over w: matrix-level Isserlis (every d) and explicit Isserlis at d = 1, 2, 3",
    _both(lambda l, r: matrix_expectation_equal(l, r, [(w, None)], SYM),
          explicit_expectation_equal(d, [(w, None)], (1, 2, 3), SYM)))


def _definition_relation(k: int):
    return relation(f"E over (w, x_q, eps_q) with explicit symbolic entries at d = {k}, Isserlis on monomials",
                    explicit_expectation_equal(d, [(w, None), (x, Sigma)], (k,), SYM, {eps: s**2}))


# ------------------------------------------------------------------------------------- derivations


def derivation_prediction() -> Derivation:
    D = Derivation("prediction at infinite prompt length (every d)", PREDICTION,
                   start_tex=r"p_\infty = e_{d+1}^\top V\,\Gamma_w\,U\,(x_q,0)")
    D.step(a.T * Sigma * U11 * x + b * w.T * Sigma * U11 * x + (a.T * Sigma * w) * (u.T * x)
           + b * (w.T * Sigma * w + s**2 * I1) * (u.T * x),
           r"block product with $\Gamma_w$; only row $d+1$ of $V$ and the first $d$ columns of $U$ enter",
           check=GENERAL, label="block-product",
           rhs_tex=r"a^\top\Sigma U_{11}x_q + b\,w^\top\Sigma U_{11}x_q + (a^\top\Sigma w)(u^\top x_q)"
                   r" + b\,(w^\top\Sigma w + s^2)(u^\top x_q)")
    D.step(x.T * G_W, r"$1\times1$ factors commute and equal their transposes, $\Sigma^\top=\Sigma$",
           check=GENERAL, label="collect-g", rhs_tex=G_TEX)
    return D


def derivation_query() -> Derivation:
    h = G_W - w
    D = Derivation("expectation over the query and its label noise (every d)", HALF * (x.T * G_W - w.T * x - eps * I1) ** 2,
                   start_tex=r"\tfrac12\,\mathbb E_{x_q,\varepsilon_q}\big(x_q^\top g(w) - w^\top x_q - \varepsilon_q\big)^2")
    D.step(HALF * (h.T * Sigma * h + s**2 * I1),
           r"Isserlis: $\mathbb E\,x_q x_q^\top = \Sigma$, $\mathbb E\,\varepsilon_q^2 = s^2$, odd moments vanish",
           check=E_QUERY, label="expect-query",
           rhs_tex=r"\tfrac12\big[(g(w)-w)^\top\Sigma\,(g(w)-w) + s^2\big]")
    return D


def derivation_task() -> Derivation:
    h = G_W - w
    h2 = C0 + M_ * w + b * u * Q_W
    D = Derivation("Wick moments over the task w (every d)", HALF * (h.T * Sigma * h + s**2 * I1),
                   start_tex=r"\tfrac12\,\mathbb E_w\big[(g-w)^\top\Sigma(g-w) + s^2\big]")
    D.step(HALF * (h2.T * Sigma * h2 + s**2 * I1), r"$g(w) - w = c_0 + Mw + b\,u\,(w^\top\Sigma w)$",
           check=GENERAL, label="centre-g",
           rhs_tex=r"\tfrac12\,\mathbb E_w\big[(c_0 + Mw + b\,u\,q)^\top\Sigma(c_0 + Mw + b\,u\,q) + s^2\big],\ q = w^\top\Sigma w")
    expanded = HALF * (C0.T * Sigma * C0 + 2 * (C0.T * Sigma * M_ * w) + 2 * b * (C0.T * Sigma * u) * Q_W
                       + w.T * M_.T * Sigma * M_ * w + 2 * b * (u.T * Sigma * M_ * w) * Q_W
                       + b**2 * (u.T * Sigma * u) * Q_W * Q_W + s**2 * I1)
    D.step(expanded, "expand the quadratic form (symmetric $\\Sigma$)", check=GENERAL, label="expand",
           rhs_tex=r"\tfrac12\,\mathbb E_w\big[c_0^\top\Sigma c_0 + 2c_0^\top\Sigma Mw + 2b\,q\,c_0^\top\Sigma u"
                   r" + w^\top M^\top\Sigma Mw + 2b\,q\,u^\top\Sigma Mw + b^2q^2\,u^\top\Sigma u + s^2\big]")
    # right-hand side assembled from the moment identities of verify.symbolic, term by term
    moments = HALF * (C0.T * Sigma * C0 + 2 * (C0.T * Sigma * M_ * gaussian_mean(d))
                      + 2 * b * quadratic_form_mean(Sigma) * (C0.T * Sigma * u)
                      + quadratic_form_mean(M_.T * Sigma * M_) * I1
                      + 2 * b * quadratic_times_linear_mean(Sigma, M_.T * Sigma * u) * I1
                      + b**2 * (u.T * Sigma * u) * quadratic_form_product_mean(Sigma, Sigma) + s**2 * I1)
    D.step(moments,
           r"Isserlis: $\mathbb E w = 0$, $\mathbb E\,w^\top Aw = \mathrm{tr}A$, $\mathbb E\,q\,c^\top w = 0$,"
           r" $\mathbb E(w^\top Aw)(w^\top Bw) = \mathrm{tr}A\,\mathrm{tr}B + \mathrm{tr}AB + \mathrm{tr}AB^\top$",
           check=E_TASK, label="expect-task",
           rhs_tex=r"\tfrac12\big[c_0^\top\Sigma c_0 + 0 + 2b\,\mathrm{tr}(\Sigma)\,c_0^\top\Sigma u"
                   r" + \mathrm{tr}(M^\top\Sigma M) + 0 + b^2(u^\top\Sigma u)\big((\mathrm{tr}\Sigma)^2"
                   r" + \mathrm{tr}(\Sigma^2) + \mathrm{tr}(\Sigma\Sigma^\top)\big) + s^2\big]")
    D.step(CLOSED_FORM, r"$\Sigma^\top = \Sigma$, collect: the closed form", check=GENERAL, label="closed-form",
           rhs_tex=CLOSED_TEX)
    return D


def derivation_moments() -> Derivation:
    """The Gaussian moment identities used above, each checked for every d and with explicit entries."""
    B = MatrixSymbol("B", d, d)
    c = MatrixSymbol("c", d, 1)
    D = Derivation("Gaussian moments used (Isserlis)", w, start_tex=r"\mathbb E_w\, w")
    D.step(gaussian_mean(d) * I1, r"odd moment", check=relation("E over w, every d and d = 1, 2, 3",
                                                                _first_moment_test), label="mean", rhs_tex="0")
    D.step(quadratic_form_mean(A) * I1, r"pairing $(ij)$: $\sum_i A_{ii}$", check=E_TASK_CROSS, lhs=w.T * A * w,
           lhs_tex=r"\mathbb E_w\, w^\top A w", rhs_tex=r"\mathrm{tr}A", label="quadratic")
    D.step(quadratic_times_linear_mean(A, c) * I1, r"odd moment", check=E_TASK_CROSS, lhs=(w.T * A * w) * (c.T * w),
           lhs_tex=r"\mathbb E_w (w^\top A w)(c^\top w)", rhs_tex="0", label="cubic")
    D.step(quadratic_form_product_mean(A, B) * I1, r"three pairings of $w_iw_jw_kw_l$",
           check=E_TASK_CROSS, lhs=(w.T * A * w) * (w.T * B * w),
           lhs_tex=r"\mathbb E_w (w^\top A w)(w^\top B w)",
           rhs_tex=r"\mathrm{tr}A\,\mathrm{tr}B + \mathrm{tr}(AB) + \mathrm{tr}(AB^\top)", label="quartic")
    return D


def _first_moment_test(lhs, rhs):
    """E[w] = 0 entry-wise: each entry w_i is odd (matrix level: the chain e_i^T w has one end in w)."""
    e = MatrixSymbol("e", d, 1)
    ok, detail = matrix_expectation_equal(e.T * lhs, e.T * ZeroMatrix(d, 1), [(w, None)], SYM)
    ok2, detail2 = explicit_expectation_equal(d, [(w, None)], (1, 2, 3), SYM)(e.T * lhs, ZeroMatrix(1, 1))
    return ok and ok2, f"{detail}; {detail2}"


def derivation_explicit() -> Derivation:
    """Layer (b): the whole expectation from the definition, with explicit entries, for d = 1, 2, 3."""
    D = Derivation("closed form from the definition, explicit entries", DEFINITION_INTEGRAND, brief=True,
                   start_tex=r"\tfrac12\,\mathbb E_{w,x_q,\varepsilon_q}\big(e_{d+1}^\top V\Gamma_wU(x_q,0) - y_q\big)^2")
    for k in (1, 2, 3):
        why = (f"$d={k}$: Isserlis on every monomial of $(w, x_q, \\varepsilon_q)$; $U$, $V$, $\\Sigma$, $s$ all symbolic")
        D.step(CLOSED_FORM, why, check=_definition_relation(k), lhs=DEFINITION_INTEGRAND,
               lhs_tex=rf"\tfrac12\,\mathbb E\big(p_\infty - y_q\big)^2\ (d={k})", rhs_tex=CLOSED_TEX, label=f"d={k}")
    return D


def derivation_invariant() -> Derivation:
    U_inv = BlockMatrix([[A, ZeroMatrix(d, 1)], [ZeroMatrix(1, d), ZeroMatrix(1, 1)]])
    V_inv = BlockMatrix([[ZeroMatrix(d, d), ZeroMatrix(d, 1)], [ZeroMatrix(1, d), b * I1]])
    D = Derivation("invariant subspace U = diag(A, 0), V = b e e^T (every d)",
                   E_LAST * V_inv * GAMMA_W * U_inv * QUERY,
                   start_tex=r"p_\infty\big|_{U=\mathrm{diag}(A,0),\,V=b e_{d+1}e_{d+1}^\top}")
    D.step(b * w.T * Sigma * A * x, "block product: $U_{11} = A$, $u = 0$, $a = 0$", check=GENERAL, label="prediction",
           rhs_tex=r"b\,w^\top\Sigma A x_q")
    z = ZeroMatrix(d, 1)
    D.step(INVARIANT_FORM, r"closed form at $U_{11}=A$, $u=a=0$: $c_0 = 0$, $M^\top = b\Sigma A - I$",
           check=GENERAL, lhs=closed_form_of(A, z, z), lhs_tex=r"\mathcal R_\infty(\mathrm{diag}(A,0), b e_{d+1}e_{d+1}^\top)",
           rhs_tex=r"\tfrac12\,\mathrm{tr}\big((b\Sigma A - I)\Sigma(b\Sigma A - I)^\top\big) + \tfrac{s^2}{2}",
           label="reduced-risk")
    return D


def derivations() -> list[Derivation]:
    return [derivation_prediction(), derivation_query(), derivation_task(), derivation_moments(),
            derivation_invariant(), derivation_explicit()]


# --------------------------------------------------------------------------------------- numerics


def _dyadic(value: float, bits: int = 10) -> sp.Rational:
    return sp.Rational(int(round(float(value) * 2**bits)), 2**bits)


def random_point(dim: int, rng, noise: bool = True) -> dict:
    """A random (U, V, Sigma, s) with dyadic-rational entries (exact in SymPy, mpmath and float64)."""
    S = random_covariance(dim, rng, floor=0.4)
    S = sp.ImmutableMatrix(dim, dim, lambda i, j: _dyadic(S[min(i, j), max(i, j)]))
    Um = sp.ImmutableMatrix(dim + 1, dim + 1, lambda i, j: _dyadic(0.6 * rng.standard_normal()))
    Vm = sp.ImmutableMatrix(dim + 1, dim + 1, lambda i, j: _dyadic(0.6 * rng.standard_normal()))
    sv = _dyadic(0.2 + 0.6 * rng.random()) if noise else sp.Integer(0)
    return {"U": Um, "V": Vm, "Sigma": S, "s": sv}


def blocks(point: dict) -> dict:
    """U11, u, a, b of a point (the only parts of U, V the risk sees)."""
    Um, Vm = point["U"], point["V"]
    k = Um.shape[0] - 1
    return {"U11": Um[:k, :k], "u": Um[k, :k].T, "a": Vm[k, :k].T, "b": Vm[k, k]}


def closed_form_exact(point: dict, expr=None) -> sp.Rational:
    """The statement's SymPy closed form (or ``expr``) at an explicit point, in exact arithmetic."""
    bl = blocks(point)
    k = bl["U11"].shape[0]
    values = {U11: bl["U11"], u: bl["u"], a: bl["a"], Sigma: point["Sigma"], b: bl["b"], s: point["s"]}
    if expr is INVARIANT_FORM:
        values[A] = bl["U11"]
    return sp.Rational(explicit_at(CLOSED_FORM if expr is None else expr, d, k, SYM, values))


def definition_quadrature(point: dict, dps: int = DPS):
    """R_\\infty at ``point`` from its DEFINITION (engine: Gauss-Hermite over (w, x_q, eps_q), exact on this
    polynomial integrand, rational entries kept exact)."""
    return icl_risk_infinite_quadrature(point["U"], point["V"], point["Sigma"], point["s"], dps=dps)


def _mpf(q) -> mpmath.mpf:
    q = sp.Rational(q)
    return mp.mpf(q.p) / q.q


def _float_point(point: dict):
    return (np.array(point["U"].tolist(), dtype=float), np.array(point["V"].tolist(), dtype=float),
            np.array(point["Sigma"].tolist(), dtype=float), float(point["s"]))


# ----------------------------------------------------------------------------------------- evidence


def check_quadrature(dims=(1, 2), points: int = 3, expr=None):
    """Closed form vs 40-digit Gauss-Hermite of the definition; figure = min agreeing digits."""

    def run(rng):
        worst, lines = np.inf, []
        for k in dims:
            for j in range(points):
                pt = random_point(k, rng, noise=(j != 0))  # the first point of each d is noiseless (s = 0)
                with mp.workdps(DPS):
                    ref = definition_quadrature(pt)
                    got = _mpf(closed_form_exact(pt, expr))
                    dig = agreeing_digits(got, ref)
                worst = min(worst, dig)
                lines.append(f"d={k}, s={float(pt['s']):.3g}: definition {mp.nstr(ref, 12)}, formula {mp.nstr(got, 12)}, "
                             f"{dig:.1f} digits")
        return worst, "; ".join(lines)

    return run


def _quadrature_run(rng):
    worst, detail = check_quadrature()(rng)
    return at_least(worst, DIGITS_REQUIRED, "digits", f"{DPS}-digit Gauss-Hermite ({NODES} nodes/dim, exact) of the "
                                                   f"definition vs the closed form: {detail}")


def _negative_control_run(rng):
    """The figure is computed exactly as in the quadrature check (min agreeing digits over the points); the check
    passes when that figure is <= 3, i.e. when the wrong formula is rejected as a claim would be."""
    worst, detail = check_quadrature(expr=INVARIANT_FORM)(rng)
    return at_most(worst, 3.0, "digits", "the invariant-subspace formula 1/2 tr((b Sigma A - I) Sigma (b Sigma A - I)^T)"
                   " + s^2/2 with A = U11, on general (U, V), vs the quadrature of the definition: " + detail)


def _mc_run(rng, n_prompts: int = 400_000, dims=(2, 3)):
    zs, lines = [], []
    for k in dims:
        pt = random_point(k, rng)
        U_, V_, S_, s_ = _float_point(pt)
        ref = float(closed_form_exact(pt))
        est = icl_risk_infinite_mc(U_, V_, S_, n_prompts=n_prompts, seed=rng, noise=s_)
        z = est.z(ref)
        zs.append(z)
        lines.append(f"d={k}: MC {est} vs closed form {ref:.6g}, z={z:+.2f}")
    return at_most(max(abs(t) for t in zs), DEFAULT_Z, "|z|",
                   "Monte Carlo of the definition at L = infinity (sample w, x_q, eps_q; Gamma_w built from w): "
                   + "; ".join(lines))


GAP_LS = (10, 100, 1000, 10000)


GAP_SCORE_VARIANCE = 0.1
GAP_NOISE = 0.3


def gap_point(dim: int = 2, seed: int = 2, score_variance: float = GAP_SCORE_VARIANCE, noise: float = GAP_NOISE):
    r"""A fixed general (U, V) (u, a, b and the unused blocks all non-zero) with small attention scores.

    U is rescaled so that the mean squared score E[(z^T U (x_q, 0))^2] = tr(\Sigma U_{:,1:d}^T E[\Gamma_w] U_{:,1:d})
    (E \Gamma_w = diag(\Sigma, tr \Sigma + s^2)) equals ``score_variance``.  With O(1) scores the softmax weights
    are heavy-tailed and R_L - R_inf is still far from its asymptotics at L = 10^4 (see the module notes).
    """
    pt = random_point(dim, np.random.default_rng(seed))
    U_, V_, S_, _ = _float_point(pt)
    EG = np.zeros((dim + 1, dim + 1))
    EG[:dim, :dim] = S_
    EG[dim, dim] = np.trace(S_) + noise**2
    Ut = U_[:, :dim]
    return U_ * np.sqrt(score_variance / np.trace(S_ @ Ut.T @ EG @ Ut)), V_, S_, noise


def _gap_run(rng, n_prompts: int = 30000, Ls=GAP_LS):
    U_, V_, S_, s_ = gap_point()
    ests = [icl_risk_gap_mc(U_, V_, S_, L=L, n_prompts=n_prompts, seed=rng, noise=s_) for L in Ls]
    lines = [f"L={L}: {e.mean:.4g} +- {e.stderr:.2g}" for L, e in zip(Ls, ests)]
    # monotone beyond noise: no increase by more than 5 combined standard errors
    steps = [(ests[i] - ests[i + 1]) for i in range(len(ests) - 1)]
    zdrops = [st.mean / st.stderr for st in steps]
    monotone = all(zd > -DEFAULT_Z for zd in zdrops)
    try:
        fit = fit_rate(Ls, ests)
    except ValueError as exc:
        return at_most(np.inf, 0.0, "CI upper end of the exponent", f"rate fit impossible: {exc}; " + "; ".join(lines))
    hi = fit.interval[1]
    detail = ("paired R_L - R_inf (d=2, fixed general U, V, E score^2 = 0.1, s = 0.3): " + "; ".join(lines)
              + f"; successive drops in SE: {', '.join(f'{z:+.1f}' for z in zdrops)}; fitted {fit}")
    if not monotone:
        return at_most(np.inf, 0.0, "CI upper end of the exponent", "gap not decreasing beyond noise: " + detail)
    return at_most(hi, 0.0, "CI upper end of the exponent", detail)


def _gap_run_slow(rng):
    return _gap_run(rng, n_prompts=150000, Ls=(10, 30, 100, 300, 1000, 3000, 10000))


CHECKS = [
    Check("quadrature-vs-definition", "quadrature", _quadrature_run,
          "closed form vs 40-digit Gauss-Hermite of the definition over (w, x_q, eps_q), d = 1 and 2, 3 points each "
          "(general U, V; s = 0 and s > 0)"),
    Check("monte-carlo-infinite-L", "montecarlo", _mc_run,
          "Monte Carlo of the definition at L = infinity (verify.icl.icl_risk_infinite_mc), d = 2, 3"),
    Check("finite-L-gap", "montecarlo", _gap_run,
          "R_L - R_inf by the paired estimator for L = 10..10^4: decreasing, fitted exponent's CI below 0"),
    Check("finite-L-gap-sweep", "montecarlo", _gap_run_slow, "as finite-L-gap, 7 values of L, 5x prompts", slow=True),
    Check("invariant-formula-rejected", "negative-control", _negative_control_run,
          "the invariant-subspace-only formula is rejected off the subspace (agreement <= 3 digits)"),
]


# -------------------------------------------------------------------------------------------- claim

CLAIM_EXAMPLE = ("(1/2)*((U11.T*Sigma*a + b*s**2*u).T*Sigma*(U11.T*Sigma*a + b*s**2*u)"
                 " + 2*b*trace(Sigma)*(U11.T*Sigma*a + b*s**2*u).T*Sigma*u"
                 " + b**2*(u.T*Sigma*u)*(trace(Sigma)**2 + 2*trace(Sigma*Sigma))"
                 " + trace((b*U11.T*Sigma + u*a.T*Sigma - I).T*Sigma*(b*U11.T*Sigma + u*a.T*Sigma - I)) + s**2)")

CLAIM_EQUIVALENTS = (
    # c0^T Sigma c0 written as (Sigma c0)^T c0, tr(Sigma^2) as a power, s^2/2 split off
    ("s**2/2 + (1/2)*(Sigma*(U11.T*Sigma*a + b*s**2*u)).T*(U11.T*Sigma*a + b*s**2*u)"
     " + b*trace(Sigma)*u.T*Sigma*(U11.T*Sigma*a + b*s**2*u)"
     " + (b**2/2)*(u.T*Sigma*u)*(trace(Sigma)**2 + 2*trace(Sigma**2))"
     " + (1/2)*trace(Sigma*(b*U11.T*Sigma + u*a.T*Sigma - I)*(b*U11.T*Sigma + u*a.T*Sigma - I).T)"),
    # tr(M^T Sigma M) with M^T = b Sigma U11 + Sigma a u^T - I expanded by cyclicity
    ("(1/2)*((U11.T*Sigma*a + b*s**2*u).T*Sigma*(U11.T*Sigma*a + b*s**2*u)"
     " + 2*b*trace(Sigma)*(U11.T*Sigma*a + b*s**2*u).T*Sigma*u"
     " + b**2*(u.T*Sigma*u)*trace(Sigma)**2 + 2*b**2*(u.T*Sigma*u)*trace(Sigma*Sigma)"
     " + trace((b*Sigma*U11 + Sigma*a*u.T - I)*Sigma*(b*Sigma*U11 + Sigma*a*u.T - I).T) + s**2)"),
)

CLAIM_WRONG = (
    # the invariant-subspace formula, off the subspace
    "(1/2)*trace((b*Sigma*U11 - I)*Sigma*(b*Sigma*U11 - I).T) + s**2/2",
    # E[(w^T Sigma w)^2] = (tr Sigma)^2: forgot the 2 tr(Sigma^2)
    CLAIM_EXAMPLE.replace("(trace(Sigma)**2 + 2*trace(Sigma*Sigma))", "trace(Sigma)**2"),
    # only one of the two cross pairings
    CLAIM_EXAMPLE.replace("(trace(Sigma)**2 + 2*trace(Sigma*Sigma))", "(trace(Sigma)**2 + trace(Sigma*Sigma))"),
    # forgot the label noise s^2/2 of the target
    CLAIM_EXAMPLE.replace(" + s**2)", ")"),
    # U11 instead of U11^T
    CLAIM_EXAMPLE.replace("U11.T", "U11"),
    # forgot the noise in the corner of Gamma_w (c0 without b s^2 u)
    CLAIM_EXAMPLE.replace("U11.T*Sigma*a + b*s**2*u", "U11.T*Sigma*a"),
    # dropped the cross term 2 b tr(Sigma) c0^T Sigma u
    CLAIM_EXAMPLE.replace(" + 2*b*trace(Sigma)*(U11.T*Sigma*a + b*s**2*u).T*Sigma*u", ""),
)

CLAIM_HELP = """\
Closed form of R_inf(U, V) = 1/2 E_w E_{x_q,eps_q} (e_{d+1}^T V Gamma_w U (x_q, 0) - y_q)^2 (a scalar).
Symbols: U11 = U[:d,:d] (d x d); u = U[d,:d]^T (d x 1 column); a = V[d,:d]^T (d x 1 column);
b = V[d,d] (scalar); Sigma (d x d, SPD); s (label-noise std, scalar); I (d x d identity).
Syntax: SymPy; * is the matrix product, .T transpose, **-1 inverse, trace(), sqrt(); 1x1 products are scalars.
Checked at d = 1, 2, 3 (2 random points each, s > 0 and s = 0) against the 40-digit Gauss-Hermite
expectation of the definition (exact on this polynomial integrand)."""


def claim_points(seed: int) -> list[ClaimPoint]:
    """Reference points: the DEFINITION's expectation by exact Gauss-Hermite (3^(2d+1) nodes), 40 digits."""
    rng = np.random.default_rng([seed, 5])
    pts = []
    for k in (1, 2, 3):
        for j in range(2):
            pt = random_point(k, rng, noise=(j == 0))
            with mp.workdps(DPS + 10):
                ref = definition_quadrature(pt, dps=DPS + 5)
                bl = blocks(pt)

                def mpm(Mx):
                    return mpmath.matrix([[_mpf(Mx[i, jj]) for jj in range(Mx.shape[1])] for i in range(Mx.shape[0])])

                values = {"U11": mpm(bl["U11"]), "u": mpm(bl["u"]), "a": mpm(bl["a"]), "b": _mpf(bl["b"]),
                          "Sigma": mpm(pt["Sigma"]), "s": _mpf(pt["s"]), "I": mpmath.eye(k)}
            pts.append(ClaimPoint(k, values, ref))
    return pts


CLAIM = ClaimSpec(
    id="icl-risk-infinite",
    statement_id="icl-risk-infinite",
    summary="closed form of the infinite-prompt ICL risk R_inf(U, V) for general U, V (label noise s)",
    symbols_help=CLAIM_HELP,
    example=CLAIM_EXAMPLE,
    expected_shape=lambda dim: (),
    points=claim_points,
    tolerance=1e-20,
    dps=DPS,
    wrong_examples=CLAIM_WRONG,
)

# ------------------------------------------------------------------------------------------ statement

STATEMENT = Statement(
    id="icl-risk-infinite",
    number="Sec. 5 (R_∞, Eq. (8))",
    title="ICL risk at infinite prompt length, general (U, V)",
    summary="R_inf(U, V) in closed form for general U, V, d and label noise s; the paper's reduced form on the "
            "invariant subspace",
    source="paper Sec. 5 (risk definition, reduced form [AUD]); general (U, V) closed form derived here",
    statement_tex=STATEMENT_TEX,
    hypotheses_tex=[
        r"w \sim \mathcal N(0, I_d)",
        r"x_i, x_q \sim \mathcal N(0, \Sigma)\ \text{i.i.d.},\ \Sigma \succ 0",
        r"y_i = w^\top x_i + \varepsilon_i,\ y_q = w^\top x_q + \varepsilon_q,\ \varepsilon \sim \mathcal N(0, s^2),\ s \ge 0",
        r"U, V \in \mathbb R^{(d+1)\times(d+1)}\ \text{arbitrary};\ p_\infty = e_{d+1}^\top V\Gamma_w U(x_q,0)\ \text{(Lemma 2.1)}",
    ],
    derivations=derivations,
    checks=CHECKS,
    claims=[CLAIM],
    status="verified",
    notes_tex=[
        r"Only $U_{11}$, $u = U_{d+1,1:d}^\top$, $a = V_{d+1,1:d}^\top$ and $b = V_{d+1,d+1}$ enter; the last column of $U$ "
        r"and the first $d$ rows of $V$ do not.",
        r"Label noise enters twice: $s^2/2$ from the target and $b s^2 u$ inside $c_0$ (the corner of $\Gamma_w$); "
        r"on the invariant subspace ($u = 0$) only the first survives.",
        r"Since $\mathcal R_\infty = \tfrac12\mathbb E\,(x_q^\top(g(w)-w))^2 + s^2/2$, $\mathcal R_\infty \ge s^2/2$ with "
        r"equality iff $g(w) = w$ for all $w$, i.e. $c_0 = 0$, $M = 0$, $b u = 0$. For $b \ne 0$ this is "
        r"$u = a = 0$, $bU_{11}^\top\Sigma = I$ (the Bayes family); for $b = 0$, $M = u a^\top\Sigma - I = 0$ needs "
        r"rank one $= d$, so only $d = 1$: $U_{11} = 0$, $b = 0$, $u\,a\,\Sigma = 1$ is a further family of global "
        r"minimisers off the invariant subspace (prediction $(a\Sigma w)(u x_q) = w x_q$).",
    ],
    order=5.0,
)
