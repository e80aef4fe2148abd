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

**Proof** (one chain from the definition, every d): block multiplication gives p_\infty = x_q^T g(w),
g(w) = c_0 + (M + I) w + b u (w^T\Sigma w); the mean over x_q ~ N(0,\Sigma), \epsilon_q gives
1/2[(g - w)^T\Sigma(g - w) + s^2]; Isserlis over w (E w = 0, E w^T A w = tr A, E (w^T A w) c^T w = 0,
E (w^T A w)(w^T B w) = tr A tr B + tr AB + tr AB^T) gives the closed form.  The expectation steps are checked
by matrix-level Isserlis contraction (every d) and, for the task, also with explicit entries at d = 1, 2, 3;
a second chain takes the whole expectation of the definition with explicit entries at d = 1, 2, 3, a third
the invariant subspace.  Numerics (engine: :mod:`verify.icl.references`) never use the closed form; the fast
numpy kernel :func:`verify.icl.risk.icl_risk_infinite` is itself checked against the SymPy closed form.
"""

from __future__ import annotations

from sympy import BlockMatrix, ZeroMatrix

import numpy as np
from mpmath import mp

from verify.icl.references import (
    CLAIM_DIMS, REF_DPS, claim_grid, claim_values, definition_quadrature, exact_point, float_point, finite_gap_sample,
    gap_to_limit, mpf, random_point, risk_definition_mc, task_moments,
)
from verify.icl.risk import icl_risk_infinite
from verify.icl.symbols import (
    A, C0, CLOSED_FORM, DEFINITION_INTEGRAND, E_LAST, G_W, GAMMA_W, HALF, I1, INVARIANT_FORM, M_, Q_W, QUERY, SYM,
    U11, Id, Sigma, a, b, closed_form_of, closed_form_value, d, eps, s, swap, swap_symbols, u, w, x,
)
from verify.kernel.catalogue import cayley_hamilton_3, vanishing_up_to
from verify.kernel.mutate import to_formula
from verify.kernel.claim import ClaimPoint, ClaimSpec
from verify.kernel.derivation import Derivation, relation
from verify.kernel.evidence import agreement, rate, rejection, scaled, z_test
from verify.kernel.verdict import Finding
from verify.kernel.statement import Mutant, Statement
from verify.symbolic import (
    explicit_expectation_equal, gaussian_mean, matexpr_equal, matrix_expectation_equal, quadratic_form_mean,
    quadratic_form_product_mean, quadratic_times_linear_mean, trace,
)

DPS = 40
DIGITS_REQUIRED = 30

CLOSED_TEX = (r"\tfrac12\Big[c_0^\top\Sigma c_0 + 2b\,\mathrm{tr}(\Sigma)\,c_0^\top\Sigma u"
              r" + b^2(u^\top\Sigma u)\big((\mathrm{tr}\,\Sigma)^2 + 2\,\mathrm{tr}(\Sigma^2)\big)"
              r" + \mathrm{tr}(M^\top\Sigma M) + s^2\Big]")
INVARIANT_TEX = r"\tfrac12\,\mathrm{tr}\big((b\Sigma A - I)\Sigma(b\Sigma A - I)^\top\big) + \tfrac{s^2}{2}"
DEFINITION_TEX = r"\mathcal R_\infty = \tfrac12\,\mathbb E\big(e_{d+1}^\top V\Gamma_w U(x_q,0) - w^\top x_q - \varepsilon_q\big)^2"

STATEMENT_TEX = (
    r"\mathcal R_\infty(U,V) = \tfrac12\,\mathbb E_w\mathbb E_{x_q,\varepsilon_q}\big(e_{d+1}^\top V\Gamma_w U(x_q,0)"
    r" - y_q\big)^2 = " + CLOSED_TEX + r",\\ c_0 = U_{11}^\top\Sigma a + b s^2 u,\quad "
    r"M = bU_{11}^\top\Sigma + u a^\top\Sigma - I_d,"
    r"\quad U_{11} = U_{1:d,1:d},\ u = U_{d+1,1:d}^\top,\ a = V_{d+1,1:d}^\top,\ b = V_{d+1,d+1}."
)

# ------------------------------------------------------------------------------------- relations

GENERAL = relation(r"matrix algebra, every $d$ ($1\times1$ factors commute; $\Sigma$ symmetric)",
                   lambda l, r: matexpr_equal(l, r, SYM))
E_QUERY = relation(r"mean over $x_q \sim \mathcal N(0,\Sigma)$, $\varepsilon_q \sim \mathcal N(0,s^2)$: matrix-level Isserlis, every $d$",
                   lambda l, r: matrix_expectation_equal(l, r, [(x, Sigma)], SYM, {eps: s**2}))


def _both(first, second):
    def test(lhs, rhs):
        ok1, d1 = first(lhs, rhs)
        if not ok1:
            return False, d1
        ok2, d2 = second(lhs, rhs)
        return ok2, f"{d1}; {d2}"

    return test


E_TASK = relation(r"mean over $w \sim \mathcal N(0, I_d)$: matrix-level Isserlis (every $d$) and explicit Isserlis at $d = 1, 2, 3$",
                  _both(lambda l, r: matrix_expectation_equal(l, r, [(w, None)], SYM),
                        explicit_expectation_equal(d, [(w, None)], (1, 2, 3), SYM)))
E_TASK_GENERAL = relation(r"mean over $w \sim \mathcal N(0, I_d)$: matrix-level Isserlis, every $d$",
                          lambda l, r: matrix_expectation_equal(l, r, [(w, None)], SYM))


def definition_relation(dims=(1, 2, 3)):
    """E over (w, x_q, eps_q) of the definition with explicit symbolic entries at each d in ``dims``."""
    return relation(rf"mean over $(w, x_q, \varepsilon_q)$ with explicit symbolic entries at $d = {', '.join(map(str, dims))}$: "
                    r"Isserlis on every monomial",
                    explicit_expectation_equal(d, [(w, None), (x, Sigma)], dims, SYM, {eps: s**2}))


# ------------------------------------------------------------------------------------- derivations

G_TEX = r"x_q^\top g(w),\ g(w) = c_0 + (M + I_d)w + b\,u\,(w^\top\Sigma w)"


def derivation_general(task_relation=E_TASK) -> Derivation:
    """One chain, every d: the definition -> block product -> mean over the query -> Wick over w -> closed form."""
    D = Derivation(r"$\mathcal R_\infty$ from its definition, every $d$", DEFINITION_INTEGRAND,
                   start_tex=DEFINITION_TEX, conclusion=CLOSED_FORM, conclusion_tex=CLOSED_TEX,
                   conclusion_check=GENERAL)
    D.step(HALF * (x.T * G_W - w.T * x - eps * I1) ** 2,
           r"block product with $\Gamma_w$: only row $d+1$ of $V$ and the first $d$ columns of $U$ enter",
           check=GENERAL, label="block-product",
           rhs_tex=r"\tfrac12\,\mathbb E\big(" + G_TEX.split(",")[0] + r" - w^\top x_q - \varepsilon_q\big)^2,\quad "
                   + G_TEX.split(",")[1].strip())
    h = G_W - w
    D.step(HALF * (h.T * Sigma * h + s**2 * I1),
           r"Isserlis over the query: $\mathbb E\,x_q x_q^\top = \Sigma$, $\mathbb E\,\varepsilon_q^2 = s^2$, odd moments vanish",
           check=E_QUERY, label="expect-query",
           rhs_tex=r"\tfrac12\,\mathbb E_w\big[(g(w)-w)^\top\Sigma\,(g(w)-w) + s^2\big]")
    h2 = C0 + M_ * w + b * u * Q_W
    D.step(HALF * (h2.T * Sigma * h2 + s**2 * I1), r"$g(w) - w = c_0 + Mw + b\,u\,q$, $q = w^\top\Sigma w$",
           check=GENERAL, label="centre-g",
           rhs_tex=r"\tfrac12\,\mathbb E_w\big[(c_0 + Mw + b\,u\,q)^\top\Sigma(c_0 + Mw + b\,u\,q) + s^2\big]")
    expanded = HALF * (C0.T * Sigma * C0 + 2 * (C0.T * Sigma * M_ * w) + 2 * b * (C0.T * Sigma * u) * Q_W
                       + w.T * M_.T * Sigma * M_ * w + 2 * b * (u.T * Sigma * M_ * w) * Q_W
                       + b**2 * (u.T * Sigma * u) * Q_W * Q_W + s**2 * I1)
    D.step(expanded, r"expand the quadratic form ($\Sigma^\top = \Sigma$)", check=GENERAL, label="expand",
           rhs_tex=r"\tfrac12\,\mathbb E_w\big[c_0^\top\Sigma c_0 + 2c_0^\top\Sigma Mw + 2b\,q\,c_0^\top\Sigma u"
                   r" + w^\top M^\top\Sigma Mw + 2b\,q\,u^\top\Sigma Mw + b^2q^2\,u^\top\Sigma u + s^2\big]")
    moments = HALF * (C0.T * Sigma * C0 + 2 * (C0.T * Sigma * M_ * gaussian_mean(d))
                      + 2 * b * quadratic_form_mean(Sigma) * (C0.T * Sigma * u)
                      + quadratic_form_mean(M_.T * Sigma * M_) * I1
                      + 2 * b * quadratic_times_linear_mean(Sigma, M_.T * Sigma * u) * I1
                      + b**2 * (u.T * Sigma * u) * quadratic_form_product_mean(Sigma, Sigma) + s**2 * I1)
    D.step(moments,
           r"Isserlis: $\mathbb E w = 0$, $\mathbb E\,w^\top Aw = \mathrm{tr}A$, $\mathbb E\,q\,c^\top w = 0$,"
           r" $\mathbb E(w^\top Aw)(w^\top Bw) = \mathrm{tr}A\,\mathrm{tr}B + \mathrm{tr}AB + \mathrm{tr}AB^\top$",
           check=task_relation, label="expect-task",
           rhs_tex=r"\tfrac12\big[c_0^\top\Sigma c_0 + 2b\,\mathrm{tr}(\Sigma)\,c_0^\top\Sigma u"
                   r" + \mathrm{tr}(M^\top\Sigma M) + b^2(u^\top\Sigma u)\big((\mathrm{tr}\Sigma)^2"
                   r" + \mathrm{tr}(\Sigma^2) + \mathrm{tr}(\Sigma\Sigma^\top)\big) + s^2\big]")
    D.step(CLOSED_FORM, r"$\Sigma^\top = \Sigma$; collect: the closed form", check=GENERAL, label="closed-form",
           rhs_tex=CLOSED_TEX)
    return D


def derivation_explicit(dims=(1, 2, 3)) -> Derivation:
    """The whole expectation of the definition with explicit entries (independent of the matrix-level layer)."""
    D = Derivation(r"$\mathcal R_\infty$ from its definition with explicit entries, $d = 1, 2, 3$", DEFINITION_INTEGRAND,
                   brief=True, start_tex=DEFINITION_TEX, conclusion=CLOSED_FORM, conclusion_tex=CLOSED_TEX,
                   conclusion_check=GENERAL)
    D.step(CLOSED_FORM, r"Isserlis on every monomial of $(w, x_q, \varepsilon_q)$; $U$, $V$, $\Sigma$, $s$ symbolic",
           check=definition_relation(dims), rhs_tex=CLOSED_TEX, label="explicit-d")
    return D


U_INV = BlockMatrix([[A, ZeroMatrix(d, 1)], [ZeroMatrix(1, d), ZeroMatrix(1, 1)]])
V_INV = BlockMatrix([[ZeroMatrix(d, d), ZeroMatrix(d, 1)], [ZeroMatrix(1, d), b * I1]])
INVARIANT_DEFINITION = HALF * (E_LAST * V_INV * GAMMA_W * U_INV * QUERY - w.T * x - eps * I1) ** 2


def derivation_invariant() -> Derivation:
    """The definition on the invariant subspace U = diag(A, 0), V = b e e^T, down to the paper's reduced form."""
    D = Derivation(r"invariant subspace $U = \mathrm{diag}(A, 0)$, $V = b\,e_{d+1}e_{d+1}^\top$, every $d$",
                   INVARIANT_DEFINITION, start_tex=DEFINITION_TEX + r"\big|_{U=\mathrm{diag}(A,0),\,V=b e_{d+1}e_{d+1}^\top}",
                   conclusion=INVARIANT_FORM, conclusion_tex=INVARIANT_TEX, conclusion_check=GENERAL)
    h = b * A.T * Sigma * w - w
    D.step(HALF * (x.T * h - eps * I1) ** 2, r"block product: $U_{11} = A$, $u = 0$, $a = 0$, so $p_\infty = b\,w^\top\Sigma A x_q$",
           check=GENERAL, label="prediction", rhs_tex=r"\tfrac12\,\mathbb E\big(x_q^\top(bA^\top\Sigma - I)w - \varepsilon_q\big)^2")
    D.step(HALF * (h.T * Sigma * h + s**2 * I1), r"Isserlis over the query", check=E_QUERY, label="expect-query",
           rhs_tex=r"\tfrac12\,\mathbb E_w\big[w^\top(b\Sigma A - I)\Sigma(bA^\top\Sigma - I)w + s^2\big]")
    D.step(HALF * quadratic_form_mean((b * Sigma * A - Id) * Sigma * (b * A.T * Sigma - Id)) * I1 + HALF * s**2 * I1,
           r"$\mathbb E\,w^\top B w = \mathrm{tr}\,B$", check=E_TASK_GENERAL, label="expect-task", rhs_tex=INVARIANT_TEX)
    return D


def derivations() -> list[Derivation]:
    return [derivation_general(), derivation_explicit(), derivation_invariant()]


# ----------------------------------------------------------------------------------------- evidence
# The subject of every check is a closed form (a general-d SymPy expression) evaluated at the point; the
# references (engine: verify.icl.references) integrate the definition and never see it.  Mutants are planted
# wrong closed forms, written once in SymPy and turned into each check's subject by risk_of / float_risk_of.


def risk_of(expr):
    """The subject: ``expr`` (a closed form of R_inf) at an exact point, as an mpf at the working precision."""
    return lambda p: mpf(closed_form_value(p, expr))


def float_risk_of(expr):
    """The subject: ``expr`` at an exact point, as a float (the exact value, correctly rounded)."""
    return lambda p: float(closed_form_value(p, expr))


def kernel(p) -> float:
    """The numpy kernel :func:`verify.icl.risk.icl_risk_infinite` at the float64 values of an exact point."""
    return icl_risk_infinite(*float_point(p))


T = trace(Sigma)
ONE_PAIRING = CLOSED_FORM - HALF * b**2 * (u.T * Sigma * u) * trace(Sigma * Sigma)  # (tr S)^2 + tr S^2 only
NO_NOISE_CORNER = CLOSED_FORM.xreplace({C0: U11.T * Sigma * a})  # c0 without the b s^2 u of the corner of Gamma_w
NO_CROSS_NO_QUARTIC = CLOSED_FORM - HALF * (2 * b * T * (C0.T * Sigma * u)
                                            + b**2 * (u.T * Sigma * u) * (T**2 + 2 * trace(Sigma * Sigma)))
NO_TARGET_NOISE = CLOSED_FORM - HALF * s**2 * I1
U11_NOT_TRANSPOSED = closed_form_of(U11.T, u, a)  # U11 where the statement has U11^T
FORMULA_NAMES = {"U_11": "U11"}
"""SymPy names that the claim grammar spells differently."""


def claim_formula(expr) -> str:
    """A SymPy form of R_inf (the closed form or a planted slip of it) in the claim grammar: each wrong form is
    written once, in SymPy, and is both a check's mutant and an entry of the claim's catalogue."""
    return to_formula(expr, FORMULA_NAMES)


def _kernel_points(rng):
    """d = 1..5, two points each (s > 0 and s = 0)."""
    return [random_point(k, rng, noise=noise) for k in (1, 2, 3, 4, 5) for noise in (True, False)]


def _quadrature_points(rng):
    """d = 1 and 2, three points each (the first of each d noiseless, s = 0), then d = 3, 4, 5 (d = 4 noiseless):
    an error that vanishes only for small d (e.g. a multiple of e_4(Sigma), zero for d <= 3) is seen at d >= 4."""
    return _small_points(rng) + [random_point(k, rng, noise=(k != 4)) for k in (3, 4, 5)]


def _small_points(rng):
    """d = 1 and 2, three points each; the first of each d is noiseless (s = 0)."""
    return [random_point(k, rng, noise=(j != 0)) for k in (1, 2) for j in range(3)]


def definition_reference(p, dps: int = DPS):
    """R_inf at an exact point from its definition: the full 3-node Gauss-Hermite rule over (w, x_q, eps_q) for
    d <= 2 (:func:`verify.icl.references.definition_quadrature`); for d >= 3 the same rule over w with the query by
    its second moments (:func:`verify.icl.references.task_moments`, 3^d nodes instead of 3^(2d+1))."""
    if p["dim"] <= FULL_QUADRATURE_MAX_DIM:
        return definition_quadrature(p, dps)
    with mp.workdps(dps):
        return +task_moments(p["U"], p["V"], p["Sigma"], p["s"], dps=dps)["risk"]


def _route_points(rng):
    """d = 1, 2: general points, noisy and noiseless, where both routes of the definition are cheap."""
    return [random_point(k, rng, noise=noise) for k in (1, 2) for noise in (True, False)]


def _second_route(p):
    """The definition's risk by the w-rule with the query by its second moments (task_moments)."""
    with mp.workdps(DPS):
        return +task_moments(p["U"], p["V"], p["Sigma"], p["s"], dps=DPS)["risk"]


def _mc_points(rng):
    return [random_point(2, rng), random_point(3, rng)]


MC_PAIRS = 150_000  # smaller pilots under-estimate the standard error of this heavy-tailed sample
MC_REL_STDERR = 0.0012  # power 5 x 0.0012 = 0.6%: a 1% error gives |z| ~ 8
GAP_LS = (10, 30, 100, 300)
# L <= 300: the paired gap estimator has rare huge samples (prompts whose w, x_q make the scores large: the softmax
# then picks one token and the per-prompt gap is O(values^2) ~ 5, not O(1/L)); the gate "gap > 5 s.e." needs
# n x gap(L) / 5 far above the largest such sample, which 60k prompts at L = 300 keep (a sample would have to
# exceed ~19; the largest seen in 4e6 prompts is 5.4).
GAP_PROMPTS = {10: 30000, 30: 30000, 100: 30000, 300: 60000}
SWEEP_LS = (10, 30, 100, 300, 1000, 3000, 10000)
GAP_EXPONENT = 0.5
GAP_SCORE_VARIANCE = 0.1
GAP_NOISE = 0.3


def gap_point(dim: int = 2, seed: int = 2, score_variance: float = GAP_SCORE_VARIANCE, noise: float = GAP_NOISE):
    r"""A fixed general (U, V) (u, a, b and the unused blocks all non-zero) with small attention scores.

    U is rescaled so that the mean squared score E[(z^T U (x_q, 0))^2] = tr(\Sigma U_{:,1:d}^T E[\Gamma_w] U_{:,1:d})
    (E \Gamma_w = diag(\Sigma, tr \Sigma + s^2)) equals ``score_variance``: with O(1) scores the softmax weights
    are heavy-tailed and R_L - R_inf is still far from its asymptotics at L = 10^4.
    """
    U_, V_, S_, _ = float_point(random_point(dim, np.random.default_rng(seed)))
    EG = np.zeros((dim + 1, dim + 1))
    EG[:dim, :dim] = S_
    EG[dim, dim] = np.trace(S_) + noise**2
    Ut = U_[:, :dim]
    return U_ * np.sqrt(score_variance / np.trace(S_ @ Ut.T @ EG @ Ut)), V_, S_, noise


_GAP = gap_point()
_GAP_EXACT = exact_point(*_GAP)


def _gap_sample(prompts):
    def sample(L, rng):
        return finite_gap_sample(*_GAP, L=L, n_prompts=prompts(L), rng=rng)
    return sample


def _gap(L, sample, subject):
    return gap_to_limit(sample, float(subject(_GAP_EXACT)))


def _relative_gap(p, ref, subject):
    return float(abs(subject(p) - ref) / abs(ref))


CLOSED = risk_of(CLOSED_FORM)
FLOAT_CLOSED = float_risk_of(CLOSED_FORM)

CHECKS = [
    agreement("quadrature-vs-definition", CLOSED, definition_reference, _quadrature_points, digits=DIGITS_REQUIRED,
              dps=DPS, adapter=risk_of, reference_name="40-digit Gauss-Hermite of the definition",
              description="closed form vs 40-digit Gauss-Hermite (3 nodes per coordinate: exact) of the definition over "
                          "$(w, x_q, \\varepsilon_q)$, $d = 1, 2$, 3 points each, and over $w$ with the query by its "
                          "second moments at $d = 3, 4, 5$ (general $U$, $V$, non-commuting $\\Sigma$; $s = 0$ and $s > 0$)",
              mutants=[Mutant("1.01 x R_inf", scaled(CLOSED, 1.01)),
                       Mutant("one quartic pairing: (tr S)^2 + tr S^2", risk_of(ONE_PAIRING)),
                       Mutant("c0 without b s^2 u", risk_of(NO_NOISE_CORNER)),
                       Mutant("no target noise s^2/2", risk_of(NO_TARGET_NOISE)),
                       Mutant("U11 for U11^T", risk_of(U11_NOT_TRANSPOSED))]),
    z_test("monte-carlo-infinite-L", FLOAT_CLOSED,
           lambda p, rng: risk_definition_mc(*float_point(p), n_pairs=MC_PAIRS, seed=rng, rel_stderr=MC_REL_STDERR), _mc_points, resolve=0.01,
           adapter=float_risk_of,
           description=f"Monte Carlo of the definition at $L = \\infty$, $d = 2, 3$: >= {MC_PAIRS} antithetic task pairs "
                       f"(relative standard error <= {MC_REL_STDERR}), "
                       "Gauss-Hermite over the query, control variates $w_iw_j - \\delta_{ij}$; must see a 1% error",
           mutants=[Mutant("1.01 x R_inf", scaled(FLOAT_CLOSED, 1.01)),
                    Mutant("no cross and quartic terms", float_risk_of(NO_CROSS_NO_QUARTIC))]),
    rate("finite-L-gap", FLOAT_CLOSED, _gap_sample(GAP_PROMPTS.get), _gap, GAP_LS, exponent=GAP_EXPONENT,
         adapter=float_risk_of,
         description="$R_L - \\mathcal R_\\infty$(closed form), $L = 10..300$: paired Monte Carlo of $R_L - R_\\infty$ "
                     "plus the exact definition-minus-closed-form; fitted exponent's CI below $-1/2$",
         mutants=[Mutant("p_inf 5% toward y_q: 0.9025 R_inf", scaled(FLOAT_CLOSED, 0.9025)),
                  Mutant("1.01 x R_inf", scaled(FLOAT_CLOSED, 1.01))]),
    rate("finite-L-gap-sweep", FLOAT_CLOSED,
         _gap_sample(lambda L: 5 * GAP_PROMPTS.get(L, 30000 if L < 1000 else 20000 if L < 3000 else 8000)), _gap, SWEEP_LS,
         exponent=GAP_EXPONENT, slow=True, adapter=float_risk_of, description="as finite-L-gap, 7 values of $L$, 5x prompts",
         mutants=[Mutant("p_inf 5% toward y_q: 0.9025 R_inf", scaled(FLOAT_CLOSED, 0.9025)),
                  Mutant("1.01 x R_inf", scaled(FLOAT_CLOSED, 1.01))]),
    agreement("numpy-kernel-vs-closed-form", kernel, float_risk_of(CLOSED_FORM), _kernel_points, digits=13,
              kind="float64", reference_name="the SymPy closed form evaluated exactly",
              description="the numpy kernel verify.icl.risk.icl_risk_infinite (used by the training and ZFB statements) "
                          "vs the statement's SymPy closed form in exact arithmetic at rational points, $d = 1..5$, "
                          "$s = 0$ and $s > 0$",
              mutants=[Mutant("1.01 x R_inf", scaled(float_risk_of(CLOSED_FORM), 1.01)),
                       Mutant("one quartic pairing: (tr S)^2 + tr S^2", float_risk_of(ONE_PAIRING)),
                       Mutant("c0 without b s^2 u", float_risk_of(NO_NOISE_CORNER)),
                       Mutant("U11 for U11^T", float_risk_of(U11_NOT_TRANSPOSED))]),
    agreement("definition-routes-agree", _second_route, definition_quadrature, _route_points, digits=DIGITS_REQUIRED,
              dps=DPS, reference_name="the full 40-digit Gauss-Hermite rule over $(w, x_q, \\varepsilon_q)$",
              description="the reference at $d \\ge 3$ (the rule over $w$, the query by its second moments, "
                          "verify.icl.references.task_moments) against the full rule over $(w, x_q, \\varepsilon_q)$, "
                          "$d = 1, 2$, $s = 0$ and $s > 0$: two routes of the definition, neither sees a closed form",
              mutants=[Mutant("the second route without label noise", lambda p: _second_route(dict(p, s=0))),
                       Mutant("1.01 x the second route", scaled(_second_route, 1.01))]),
    rejection("invariant-formula-rejected", risk_of(INVARIANT_FORM), _relative_gap, _small_points,
              prepare=lambda p, rng: definition_reference(p), threshold=1e-6, unit="relative error",
              what="relative error of the invariant-subspace formula (A = U11) against the quadrature of the definition",
              description="the invariant-subspace-only formula is rejected off the subspace: relative error >= $10^{-6}$ at "
                          "every point (the 40-digit reference and the claim tolerance $10^{-20}$ are far below)",
              mutants=[Mutant("the general closed form", CLOSED)]),
]


# -------------------------------------------------------------------------------------------- claim

CLAIM_EXAMPLE = ("(1/2)*((U11.T*Sigma*a + b*s**2*u).T*Sigma*(U11.T*Sigma*a + b*s**2*u)"
                 " + 2*b*trace(Sigma)*(U11.T*Sigma*a + b*s**2*u).T*Sigma*u"
                 " + b**2*(u.T*Sigma*u)*(trace(Sigma)**2 + 2*trace(Sigma*Sigma))"
                 " + trace((b*U11.T*Sigma + u*a.T*Sigma - I).T*Sigma*(b*U11.T*Sigma + u*a.T*Sigma - I)) + s**2)")

_C0, _M = "(U11.T*Sigma*a + b*s**2*u)", "(b*U11.T*Sigma + u*a.T*Sigma - I)"
_QUARTIC = "b**2*(u.T*Sigma*u)*(trace(Sigma)**2 + 2*trace(Sigma*Sigma))"
_E = "(U11.T*Sigma*a + b*s**2*u + b*trace(Sigma)*u)"  # e = c0 + b tr(Sigma) u
INVARIANT_CLAIM = "(1/2)*trace((b*Sigma*U11 - I)*Sigma*(b*Sigma*U11 - I).T)"  # the paper's reduced form, A = U11

CLAIM_EQUIVALENTS = (
    # factored: c0^T Sigma c0 as (Sigma c0)^T c0, tr(Sigma^2) as a power, s^2/2 split off; tr(M^T S M) = tr(S M M^T)
    (f"s**2/2 + (1/2)*(Sigma*{_C0}).T*{_C0} + b*trace(Sigma)*u.T*Sigma*{_C0}"
     f" + (b**2/2)*(u.T*Sigma*u)*(trace(Sigma)**2 + 2*trace(Sigma**2)) + (1/2)*trace(Sigma*{_M}*{_M}.T)"),
    # tr(M^T Sigma M) with M^T = b Sigma U11 + Sigma a u^T - I (cyclic), the quartic pairing expanded
    swap(swap(CLAIM_EXAMPLE, f"trace({_M}.T*Sigma*{_M})", "trace((b*Sigma*U11 + Sigma*a*u.T - I)*Sigma*(b*Sigma*U11 + Sigma*a*u.T - I).T)"),
         _QUARTIC, "b**2*(u.T*Sigma*u)*trace(Sigma)**2 + 2*b**2*(u.T*Sigma*u)*trace(Sigma*Sigma)"),
    # regrouped as a sum of squares: e = c0 + b tr(Sigma) u (statement icl-minimizers)
    f"(1/2)*({_E}.T*Sigma*{_E} + 2*trace(Sigma**2)*b**2*u.T*Sigma*u + trace({_M}.T*Sigma*{_M}) + s**2)",
    # decimals (exact rationals) and a transposed scalar c0^T Sigma u = u^T Sigma c0
    swap(swap(CLAIM_EXAMPLE, "(1/2)*(", "0.5*("), f"{_C0}.T*Sigma*u", f"u.T*Sigma*{_C0}"),
    # inverse identities: Sigma = (Sigma^-1)^-1, I = Sigma Sigma^-1, tr(Sigma^2) = tr(Sigma^3 Sigma^-1)
    swap(swap(CLAIM_EXAMPLE, "(trace(Sigma)**2 + 2*trace(Sigma*Sigma))", "(trace((Sigma**-1)**-1)**2 + 2*trace(Sigma**3*inverse(Sigma)))"),
         "u*a.T*Sigma - I)", "u*a.T*Sigma - Sigma*Sigma**-1)"),
    # c0^T Sigma c0 expanded
    swap(CLAIM_EXAMPLE, f"{_C0}.T*Sigma*{_C0}", "a.T*Sigma*U11*Sigma*U11.T*Sigma*a + 2*b*s**2*u.T*Sigma*U11.T*Sigma*a"
         " + b**2*s**4*u.T*Sigma*u"),
)

CLAIM_WRONG = (
    INVARIANT_CLAIM + " + s**2/2",  # the invariant-subspace form, off the subspace
    swap(CLAIM_EXAMPLE, "(trace(Sigma)**2 + 2*trace(Sigma*Sigma))", "trace(Sigma)**2"),  # E q^2 = (tr S)^2 only
    claim_formula(ONE_PAIRING),  # one quartic pairing
    claim_formula(NO_TARGET_NOISE),  # forgot the label noise s^2/2 of the target
    claim_formula(U11_NOT_TRANSPOSED),  # U11 for U11^T
    claim_formula(NO_NOISE_CORNER),  # forgot b s^2 u (the noise in the corner of Gamma_w)
    swap(CLAIM_EXAMPLE, f" + 2*b*trace(Sigma)*{_C0}.T*Sigma*u", ""),  # dropped cross term
    swap(CLAIM_EXAMPLE, " + " + _QUARTIC, ""),  # dropped quartic term
    CLAIM_EXAMPLE[len("(1/2)*"):],  # 1/2 -> 1
    swap(CLAIM_EXAMPLE, f"{_M}.T*Sigma*{_M}", f"{_M}.T*Sigma**2*{_M}"),  # Sigma -> Sigma^2 in tr(M^T Sigma M)
    swap(CLAIM_EXAMPLE, "(trace(Sigma)**2 + 2*trace(Sigma*Sigma))", "(trace(Sigma*Sigma) + 2*trace(Sigma)**2)"),  # tr^2 <-> tr(.^2)
    swap(CLAIM_EXAMPLE, " + s**2)", " + s**2) + s**2/2"),  # target noise s^2 instead of s^2/2
    swap_symbols(CLAIM_EXAMPLE, "a", "u"),  # blocks a <-> u swapped
    swap(CLAIM_EXAMPLE, f"{_M}.T*Sigma*{_M}", f"{_M}.T*Sigma**-1*{_M}"),  # Sigma inverted
    CLAIM_EXAMPLE + f" + {vanishing_up_to(3, 'Sigma')}*trace(Sigma)",  # vanishes at d <= 3 only
    CLAIM_EXAMPLE + f" + trace({cayley_hamilton_3('Sigma')})",  # Cayley-Hamilton of a 3x3 Sigma
    swap(CLAIM_EXAMPLE, "b*U11.T*Sigma", "b*Sigma*U11.T"),  # true only when Sigma and U11 commute (Sigma = cI, both diagonal)
    swap(CLAIM_EXAMPLE, "Sigma*(b*U11", "(trace(Sigma)/trace(I))*(b*U11"),  # isotropic Sigma only
    f"(1 + 1e-12)*({CLAIM_EXAMPLE})",  # relative offset 1e-12 (decimals are exact rationals)
)

CLAIM_CONDITIONAL = (
    (INVARIANT_CLAIM + " + s**2/2", ("invariant-subspace",)),  # paper Sec. 5 reduced form, with label noise
    (INVARIANT_CLAIM, ("invariant-subspace", "noiseless")),  # as printed (noiseless model)
    (swap(CLAIM_EXAMPLE, _C0, "(U11.T*Sigma*a)").replace(" + s**2)", ")"), ("noiseless",)),  # s = 0 everywhere
)

CLAIM_HELP = """\
Closed form of R_inf(U, V) = 1/2 E_w E_{x_q,eps_q} (e_{d+1}^T V Gamma_w U (x_q, 0) - y_q)^2.
Symbols: U11 = U[:d,:d] (d x d); u = U[d,:d]^T (d x 1 column); a = V[d,:d]^T (d x 1 column);
b = V[d,d] (scalar); Sigma (d x d, SPD); s (label-noise std, scalar); I (d x d identity).
Syntax: SymPy; * is the matrix product, .T transpose, **-1 inverse, trace(), sqrt();
1x1 products are scalars."""


FULL_QUADRATURE_MAX_DIM = 2
"""Largest d at which the claim's reference is the full (w, x_q, eps_q) rule (1.2 s per point at d = 3)."""
CLAIM_COVERAGE = (
    f"d = {', '.join(map(str, CLAIM_DIMS))}; per d: generic U, V (u, a != 0), s > 0 and s = 0 (noiseless),\n"
    "and on the invariant subspace U = diag(A, 0), V = b e e^T with s > 0 and s = 0\n"
    "(invariant-subspace[, noiseless]); Sigma random SPD, non-diagonal for d >= 2; exact entries.\n"
    f"reference: the definition; d <= {FULL_QUADRATURE_MAX_DIM}: 3-node Gauss-Hermite over all (w, x_q, eps_q) (exact);\n"
    f"d >= {FULL_QUADRATURE_MAX_DIM + 1}: the same rule over w, the query by its second moments\n"
    "(verify.icl.references.task_moments); 50 digits, tolerance 1e-20.")


def claim_points(seed: int) -> tuple:
    """Points of ``icl-risk-infinite``: the exact points of the ICL claims (verify.icl.references.claim_grid: d = 1..5,
    generic and invariant, s > 0 and s = 0); the reference is the definition's expectation (full rule at
    d <= 2, :func:`verify.icl.references.task_moments` at every d >= 3)."""
    return tuple(_claim_point(k, cases, pt) for k, cases, pt in claim_grid(seed))


def _claim_point(k: int, cases, pt: dict) -> ClaimPoint:
    with mp.workdps(REF_DPS):
        ref = (definition_quadrature(pt, dps=REF_DPS - 5) if k <= FULL_QUADRATURE_MAX_DIM
               else task_moments(pt["U"], pt["V"], pt["Sigma"], pt["s"])["risk"])
        vals = claim_values(pt["U"], pt["V"], pt["Sigma"], pt["s"])
    return ClaimPoint(k, vals, ref, cases)


CLAIM = ClaimSpec(
    id="icl-risk-infinite",
    statement_id="icl-risk-infinite",
    domains={"U11": "matrix", "u": "vector", "a": "vector", "b": "scalar", "s": "scalar", "Sigma": "spd", "I": "identity"}, hypotheses={"invariant-subspace": {"u": "0*u", "a": "0*a"}, "noiseless": {"s": "0"}},
    summary="closed form of the infinite-prompt ICL risk R_inf(U, V), general U, V, noise s",
    symbols_help=CLAIM_HELP,
    example=CLAIM_EXAMPLE,
    expected_shape=lambda dim: (),
    points=claim_points,
    tolerance=1e-20,
    dps=DPS,
    wrong_examples=CLAIM_WRONG,
    equivalents=CLAIM_EQUIVALENTS,
    assumptions={"invariant-subspace": "U = diag(A, 0), V = b e_{d+1} e_{d+1}^T (u = a = 0), A = U11",
                 "noiseless": "s = 0 (the paper's model, Eq. (7))"},
    conditional_examples=CLAIM_CONDITIONAL,
    coverage=CLAIM_COVERAGE,
)


# ------------------------------------------------------------------------------------------ statement

STATEMENT = Statement(
    id="icl-risk-infinite",
    finding=Finding(kind="verified", summary="R∞(U, V) in closed form for general U, V, every d and label noise s; the paper's reduced form holds on the invariant subspace only"),
    number="Sec. 5 (R_∞, Eq. (8))",
    title="ICL risk at infinite prompt length, general (U, V)",
    summary="R_inf(U, V) in closed form for general U, V, d and label noise s; the paper's reduced form on the "
            "invariant subspace",
    source="Boursier & Boyer (arXiv 2512.11784), Sec. 5 (risk definition, reduced form [AUD]); general (U, V) closed "
           "form derived here",
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
    closed_form=CLOSED_FORM, domains=CLAIM.domains, formula_names=FORMULA_NAMES,
    notes_tex=[
        r"Only $U_{11}$, $u = U_{d+1,1:d}^\top$, $a = V_{d+1,1:d}^\top$ and $b = V_{d+1,d+1}$ enter; the last column of $U$ "
        r"and the first $d$ rows of $V$ do not.",
        r"Label noise enters twice: $s^2/2$ from the target and $b s^2 u$ inside $c_0$ (the corner of $\Gamma_w$); "
        r"on the invariant subspace ($u = 0$) only the first survives.",
        r"Since $\mathcal R_\infty = \tfrac12\mathbb E\,(x_q^\top(g(w)-w))^2 + s^2/2$, $\mathcal R_\infty \ge s^2/2$ with "
        r"equality iff $g(w) = w$ for all $w$, i.e. $c_0 = 0$, $M = 0$, $b u = 0$. For $b \ne 0$ this is "
        r"$u = a = 0$, $bU_{11}^\top\Sigma = I$ (the Bayes family); for $b = 0$, $M = u a^\top\Sigma - I = 0$ needs "
        r"rank one $= d$, so only $d = 1$: $U_{11} = 0$, $b = 0$, $u\,a\,\Sigma = 1$ is a further family of global "
        r"minimizers off the invariant subspace (prediction $(a\Sigma w)(u x_q) = w x_q$).",
    ],
    order=5.0,
)
