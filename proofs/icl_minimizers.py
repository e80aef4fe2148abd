r"""Sec. 5 (in-context linear regression): the Bayes risk and the global minimizers of R_\infty.

**Setting.**  Per prompt w ~ N(0, I_d), x_i, x_q ~ N(0, \Sigma) (\Sigma \succ 0), y = w^T x + \epsilon,
\epsilon ~ N(0, s^2) (s = 0 is the paper's noiseless model).  For U, V in R^{(d+1)x(d+1)} write
U11 = U[:d,:d], u = U[d,:d]^T, a = V[d,:d]^T, b = V[d,d]; the last column of U and the first d rows of V are
*free*: they never enter R_\infty.

**Statement.**  With c0 = U11^T\Sigma a + b s^2 u, M = b U11^T\Sigma + u a^T\Sigma - I, e = c0 + b tr(\Sigma) u,

    R_\infty(U, V) - s^2/2 = 1/2 E_w[(g(w) - w)^T \Sigma (g(w) - w)],   g(w) - w = c0 + M w + b u (w^T\Sigma w),
                           = 1/2 [ e^T\Sigma e + 2 tr(\Sigma^2) b^2 u^T\Sigma u + tr(M^T\Sigma M) ]  >= 0,

where p_\infty = g(w)^T x_q.  Hence the Bayes risk is s^2/2, reached iff e = 0, b u = 0, M = 0:

    (F1)  b \neq 0,  U11 = \Sigma^{-1}/b,  u = 0,  a = 0                  (every d),
    (F2)  d = 1 only:  b = 0,  U11 = 0,  u a = 1/\Sigma                      (an extra family),

free entries arbitrary.  (U_\star, V_\star), b_\star = tr(\Sigma^{-2})^{1/4}, is the member of (F1) with ||U11||_F = b.
At every minimizer the gradient vanishes and the Hessian is E_w[J^T\Sigma J] \succeq 0 (J = \partial_\theta(g - w)).

**Proof.**  This statement builds on icl-risk-infinite: every chain starts from its closed form
(:data:`verify.icl.symbols.CLOSED_FORM`, here with explicit entries at d = 1, 2, 3).  Isserlis over w turns it
into the mean square above and completing the square into three \Sigma-weighted squares; their zero set is
solved by a case split on b u = 0.  If b = 0, M = u a^T\Sigma - I needs rank(u a^T\Sigma) = d, so d = 1.
The numeric evidence never evaluates the closed form: the references integrate the definition (engine:
:mod:`verify.icl.references`, exact Gauss-Hermite in float64; gradients by differentiating under the integral).
"""

from __future__ import annotations

import functools
import math

import mpmath
import numpy as np
import sympy as sp
from mpmath import mp

from verify.icl.gradient import icl_risk_gradient
from verify.icl.references import (
    REF_DPS, dyadic, exact_point, float_point, gap_to_subject, gradient_definition, hessian_definition,
    icl_risk_infinite_quadrature, minimizer_U11, mp_matrix, mp_rows, random_point, risk_definition_gh, to_mp,
)
from verify.icl.risk import bayes_point, toeplitz_sigma
from verify.icl.symbols import (
    C0, CLOSED_FORM, HALF, I1, M_, Q_W, SYM, Sigma, b as b_, u as u_, w as w_,
    SOS_FORM, TRUNCATED_EXCESS, active_entries, c0_and_M, closed_form_value, family_F1, family_F2,
    icl_symbols, minimizer_families, prediction_coefficient, quadratic_mean, residual, risk_infinite_from_blocks, s,
    same_families, sum_of_squares_form, zero_set_test,
)
from verify.kernel.catalogue import cayley_hamilton_3, vanishing_up_to
from verify.kernel.claim import ClaimPoint, ClaimSpec
from verify.kernel.compare import digits_between
from verify.kernel.derivation import Derivation, maps, relation
from verify.kernel.evidence import bound, scaled
from verify.kernel.verdict import Finding
from verify.kernel.statement import Mutant, Statement
from verify.numerics.strategies import random_covariance
from verify.symbolic import matexpr_equal, matrix_expectation_equal, symbolic_matrix, wick_expectation


CLOSED_TEX = (r"\tfrac12\big[c_0^\top\Sigma c_0 + 2b\,\mathrm{tr}(\Sigma)\,c_0^\top\Sigma u"
              r" + b^2(u^\top\Sigma u)((\mathrm{tr}\Sigma)^2 + 2\mathrm{tr}\Sigma^2) + \mathrm{tr}(M^\top\Sigma M) + s^2\big]")
SOS_TEX = (r"\frac{s^2}{2} + \frac12\Big[e^\top\Sigma e + 2\,\mathrm{tr}(\Sigma^2)\, b^2 u^\top\Sigma u"
           r" + \mathrm{tr}(M^\top\Sigma M)\Big],\quad e = c_0 + b\,\mathrm{tr}(\Sigma)\,u")

# ------------------------------------------------------------------------------ symbolic helpers


def _risk(S: dict):
    """The closed form of icl-risk-infinite at d = S['d'] with explicit entries (the start of every chain)."""
    return risk_infinite_from_blocks(*S["blocks"], S["Sigma"])


def _at(sub: dict, name: str):
    return maps(rf"substitute {name}", lambda e: e.xreplace(sub))


def _gradient_at(S: dict, sub: dict, name: str):
    entries = list(S["U"]) + list(S["V"])
    return maps(rf"differentiate in all $2(d+1)^2$ entries of $U$, $V$, then substitute {name}",
                lambda e: sp.Matrix([sp.diff(e, x) for x in entries]).xreplace(sub))


# ------------------------------------------------------------------------------ derivations


SOS_GENERAL_TEX = SOS_TEX.replace(",\\quad e", r",\ e")


def derivation_decomposition_general() -> Derivation:
    """Every d: the closed form is the mean square of the residual, which completes to three squares."""
    r = C0 + M_ * w_ + b_ * u_ * Q_W
    back = relation(r"the mean over $w \sim \mathcal N(0, I_d)$ of the right side is the left side (matrix-level Isserlis, every $d$)",
                    lambda l, rr: matrix_expectation_equal(rr, l, [(w_, None)], SYM))
    fwd = relation(r"mean over $w$: matrix-level Isserlis, every $d$",
                   lambda l, rr: matrix_expectation_equal(l, rr, [(w_, None)], SYM))
    D = Derivation(r"$\mathcal R_\infty - s^2/2$ as a sum of squares, every $d$", CLOSED_FORM,
                   start_tex=r"\mathcal R_\infty(U,V) = " + CLOSED_TEX, conclusion=HALF * s**2 * I1 + SOS_FORM,
                   conclusion_tex=SOS_TEX, conclusion_check=relation("matrix algebra, every $d$",
                                                                     lambda l, rr: matexpr_equal(l, rr, SYM)))
    D.step(HALF * (r.T * Sigma * r + s**2 * I1), r"icl-risk-infinite: $\mathcal R_\infty = \tfrac12\mathbb E_w[r^\top\Sigma r + s^2]$, $r = g(w) - w$",
           check=back, label="mean-square", rhs_tex=r"\tfrac12\,\mathbb E_w\big[(c_0 + Mw + b\,u\,q)^\top\Sigma(c_0 + Mw + b\,u\,q) + s^2\big]")
    D.step(HALF * s**2 * I1 + SOS_FORM, r"$\mathbb E\,q = \mathrm{tr}\,\Sigma$, $\mathrm{Var}\,q = 2\,\mathrm{tr}\,\Sigma^2$; complete the square",
           check=fwd, label="squares", rhs_tex=SOS_TEX)
    return D


def derivation_decomposition(d: int) -> Derivation:
    S = icl_symbols(d)
    Sig, w = S["Sigma"], S["w"]
    U11, u, a, b = S["blocks"]
    r = residual(U11, u, a, b, Sig, w)
    return (
        Derivation(rf"$\mathcal R_\infty - s^2/2$ as a sum of squares ($d = {d}$, explicit entries)", _risk(S),
                   start_tex=r"\mathcal R_\infty(U,V) = " + CLOSED_TEX, conclusion=sum_of_squares_form(U11, u, a, b, Sig),
                   conclusion_tex=SOS_TEX)
        .step(s**2 / 2 + quadratic_mean(r, Sig, w) / 2,
              rf"Isserlis moments of $w \sim \mathcal N(0, I_{d})$ of the expanded quadratic form (exact)", label="mean-square",
              rhs_tex=r"\frac{s^2}{2} + \frac12\,\mathbb E_w\big[(g(w)-w)^\top\Sigma\,(g(w)-w)\big]")
        .step(sum_of_squares_form(U11, u, a, b, Sig),
              r"$\mathbb E\,w^\top\Sigma w = \mathrm{tr}\,\Sigma$, $\mathrm{Var}(w^\top\Sigma w) = 2\,\mathrm{tr}\,\Sigma^2$; complete the square",
              label="squares", rhs_tex=SOS_TEX)
    )


def derivation_prediction(d: int) -> Derivation:
    """g(w) - w from the definition of p_inf (the coefficient of x_q), for the full U, V (free entries included)."""
    S = icl_symbols(d)
    Sig, w = S["Sigma"], S["w"]
    U11, u, a, b = S["blocks"]
    r = residual(U11, u, a, b, Sig, w)
    return Derivation(rf"$g(w) - w$ from $p_\infty = e_{{d+1}}^\top V\Gamma_w U(x_q, 0)$ ($d = {d}$)",
                      prediction_coefficient(S["U"], S["V"], Sig, w) - w,
                      start_tex=r"\big(e_{d+1}^\top V\,\Gamma_w\, U_{:,1:d}\big)^\top - w", conclusion=r,
                      conclusion_tex=r"c_0 + M w + b\,u\,(w^\top\Sigma w)").step(
        r, r"$\Gamma_w$ of the noisy model; the free entries (last column of $U$, first $d$ rows of $V$) cancel",
        label="block-product", rhs_tex=r"c_0 + M w + b\,u\,(w^\top\Sigma w)")


def derivation_family(d: int, family: str = "F1", gradient: bool = True) -> Derivation:
    S = icl_symbols(d)
    sub = family_F1(S) if family == "F1" else family_F2(S)
    what = (r"$U_{11} = \Sigma^{-1}/b$, $u = a = 0$" if family == "F1" else r"$b = 0$, $U_{11} = 0$, $u\,a = 1/\Sigma$")
    D = Derivation(rf"({family}) {what}: risk $s^2/2$ ($d = {d}$)", _risk(S), start_tex=r"\mathcal R_\infty(U,V)",
                   conclusion=s**2 / 2, conclusion_tex=r"\tfrac{s^2}{2}")
    D.step(s**2 / 2, r"$g(w) = w$ there: the mean square vanishes, free entries arbitrary", check=_at(sub, f"({family})"),
           label="risk", rhs_tex=r"\tfrac{s^2}{2}")
    if not gradient:
        return D
    n = 2 * (d + 1) ** 2
    G = Derivation(rf"({family}) is a critical point ($d = {d}$)", _risk(S), start_tex=r"\mathcal R_\infty(U,V)",
                   conclusion=sp.zeros(n, 1), conclusion_tex="0")
    G.step(sp.zeros(n, 1), "explicit differentiation, then the family", check=_gradient_at(S, sub, f"({family})"),
           label="gradient", rhs_tex=r"\nabla_{U,V}\mathcal R_\infty = 0")
    return [D, G]


def derivation_limit_point(d: int) -> list:
    """(U_*, V_*) belongs to (F1) (b_* U11_* = Sigma^-1) and is balanced: ||U11_*||_F^2 - b_*^2 = 0."""
    Sig = symbolic_matrix("Sigma", d, d, symmetric=True)
    Si = Sig.inv()
    t = (Si * Si).trace()
    member = Derivation(rf"the paper's limit point is in (F1) ($d = {d}$)", t ** sp.Rational(1, 4) * (t ** sp.Rational(-1, 4) * Si),
                        start_tex=r"b_\star\, U_{11,\star}", conclusion=Si, conclusion_tex=r"\Sigma^{-1}")
    member.step(Si, r"$\mathrm{tr}(\Sigma^{-2})^{1/4}\,\mathrm{tr}(\Sigma^{-2})^{-1/4} = 1$", rhs_tex=r"\Sigma^{-1}",
                label="product")
    # P stands for Sigma^{-1}: any symmetric matrix (Sigma^{-1} is symmetric), so the chain stays polynomial
    P = symbolic_matrix("P", d, d, symmetric=True)
    tau = (P * P).trace()
    frob = sum(x**2 for x in P)
    balanced = Derivation(rf"the paper's limit point is balanced ($d = {d}$)",
                          sum(x**2 for x in tau ** sp.Rational(-1, 4) * P) - (tau ** sp.Rational(1, 4)) ** 2,
                          start_tex=r"\|U_{11,\star}\|_F^2 - b_\star^2,\quad P = \Sigma^{-1} = P^\top",
                          conclusion=sp.Integer(0), conclusion_tex="0")
    balanced.step(frob / sp.sqrt(tau) - sp.sqrt(tau), r"$U_{11,\star} = \mathrm{tr}(P^2)^{-1/4}P$, $b_\star = \mathrm{tr}(P^2)^{1/4}$",
                  rhs_tex=r"\|P\|_F^2\,\mathrm{tr}(P^2)^{-1/2} - \mathrm{tr}(P^2)^{1/2}", label="scale")
    balanced.step(tau / sp.sqrt(tau) - sp.sqrt(tau), r"$P$ is symmetric: $\|P\|_F^2 = \mathrm{tr}(P^2)$",
                  rhs_tex=r"\mathrm{tr}(P^2)^{1/2} - \mathrm{tr}(P^2)^{1/2}", label="frobenius")
    balanced.step(sp.Integer(0), "cancel", rhs_tex="0", label="cancel")
    return [member, balanced]


def derivation_minimizer_set(d: int) -> Derivation:
    S = icl_symbols(d)
    U11, u, a, b = S["blocks"]
    fams = minimizer_families(d, S)
    tex = (r"\{u = a = 0,\ U_{11} = \Sigma^{-1}/b\}" + (r"\ \cup\ \{b = 0,\ U_{11} = 0,\ u = \tfrac{1}{a\Sigma}\}" if d == 1 else ""))
    D = Derivation(rf"the zero set of $\mathcal R_\infty - s^2/2$ ($d = {d}$)", _risk(S) - s**2 / 2,
                   start_tex=r"\mathcal R_\infty(U,V) - \tfrac{s^2}{2} = 0", conclusion=fams, conclusion_tex=tex,
                   conclusion_check=relation("same families", same_families))
    D.step(sum_of_squares_form(U11, u, a, b, S["Sigma"]) - s**2 / 2, "Isserlis over $w$, complete the square",
           label="squares", rhs_tex=SOS_TEX.replace(r"\frac{s^2}{2} + ", "") + r" = 0")
    D.step(fams, ("$u = 0$: $U_{11}^\\top = \\Sigma^{-1}/b$, $c_0 = a/b = 0$" if d > 1 else
                  "$u = 0$ gives (F1); $b = 0$ gives (F2)") + ("; $b = 0$: $u a^\\top\\Sigma = I$ has no solution (rank one)" if d > 1 else ""),
           check=relation(r"zero set of three $\Sigma$-weighted squares ($\Sigma \succ 0$), case split $b\,u = 0$", zero_set_test(S), symbol=r"\Longleftrightarrow"), label="zero-set", rhs_tex=tex)
    return D


def derivation_rank(d: int) -> Derivation:
    """b = 0 leaves M = u a^T Sigma - I: det(M + I) = det(u a^T Sigma) = 0, so M = 0 (det I = 1) is impossible."""
    S = icl_symbols(d)
    U11, u, a, b = S["blocks"]
    _, M = c0_and_M(U11, u, a, b, S["Sigma"])
    D = Derivation(rf"no (F2) for $d = {d}$: at $b = 0$, $\det(M + I) = 0 \neq \det I$", M,
                   start_tex=r"M = bU_{11}^\top\Sigma + u a^\top\Sigma - I", conclusion=sp.Integer(0), conclusion_tex="0")
    D.step(u * a.T * S["Sigma"] - sp.eye(d), r"$b = 0$", check=_at({b: 0}, "$b = 0$"), label="b=0",
           rhs_tex=r"u a^\top\Sigma - I")
    D.step(sp.Integer(0), r"$u a^\top\Sigma$ has rank $\le 1 < d$", check=maps(r"$\det(\,\cdot\, + I)$",
           lambda e: (e + sp.eye(d)).det()), label="det", rhs_tex=r"\det(M + I) = 0")
    return D


def derivation_hessian(d: int, family: str) -> Derivation:
    """Hessian of R at a minimizer = E_w[J^T Sigma J] (residual 0: only the Gauss-Newton term), hence PSD."""
    S = icl_symbols(d)
    Sig, w = S["Sigma"], S["w"]
    U11, u, a, b = S["blocks"]
    theta = active_entries(S["U"], S["V"], d)
    sub = family_F1(S) if family == "F1" else family_F2(S)
    J = residual(U11, u, a, b, Sig, w).jacobian(theta)
    G = wick_expectation((J.T * Sig * J).applyfunc(sp.expand), w).xreplace(sub)
    return Derivation(rf"Hessian at ({family}) is a Gram mean, hence PSD ($d = {d}$)", _risk(S),
                      start_tex=r"\mathcal R_\infty(U,V)", conclusion=G,
                      conclusion_tex=r"\mathbb E_w\big[J^\top\Sigma J\big]").step(
        G, r"$\mathcal R_\infty - s^2/2 = \tfrac12\mathbb E[r^\top\Sigma r]$, $r = 0$ there: only $\mathbb E[J^\top\Sigma J]$ survives",
        check=maps(rf"Hessian in the active entries at ({family})", lambda e: sp.hessian(e, theta).xreplace(sub)),
        label="hessian", rhs_tex=r"\mathbb E_w\big[J(w)^\top\Sigma\, J(w)\big] \succeq 0,\quad J = \partial_\theta (g(w)-w)")


def derivations() -> list[Derivation]:
    out = [derivation_decomposition_general()] + [derivation_decomposition(k) for k in (1, 2)]
    out += [derivation_prediction(k) for k in (1, 2)]
    out += derivation_family(1) + derivation_family(2) + [derivation_family(3, gradient=False)]
    out += derivation_family(1, "F2")
    for k in (1, 2, 3):
        out += derivation_limit_point(k)
    out += [derivation_minimizer_set(1), derivation_minimizer_set(2), derivation_rank(2), derivation_rank(3)]
    return out + [derivation_hessian(1, "F1"), derivation_hessian(2, "F1"), derivation_hessian(1, "F2")]


# ------------------------------------------------------------------------------ numeric evidence
# Subjects are the statement's claims: where the minimizers are (a formula for U11), the Bayes risk, the excess
# risk R - s^2/2 (the sum of squares).  References integrate the DEFINITION (exact Gauss-Hermite, float64) and
# differentiate it under the integral (verify.icl.references); the closed form of R_inf is never evaluated.
#
# A spec is what a statement about minimizers quantifies over (Sigma, b, s, a, the free entries); which (U, V)
# it names is the claim under test (a subject), built by minimizer_uv from a formula for U11.


def minimizer_specs(rng, dims) -> list[dict]:
    """Per d: a member of (F1) with random b, Sigma, s in [0.1, 0.5] and random free entries; the paper's point
    (U_*, V_*) (the (F1) member with b = tr(Sigma^-2)^{1/4}, free entries 0); at d = 1 also (F2) with random a."""
    return [spec for k in dims for spec in _specs_at(k, rng)]


def _specs_at(k: int, rng) -> list[dict]:
    S = random_covariance(k, rng)
    noise = float(rng.uniform(0.1, 0.5))
    b_draw = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 2.0))
    free = (rng.standard_normal((k + 1, k + 1)), rng.standard_normal((k + 1, k + 1)))
    direction = rng.standard_normal(k)
    Si = np.linalg.inv(S)
    b_star = float(np.trace(Si @ Si) ** 0.25)
    zero = (np.zeros((k + 1, k + 1)), np.zeros((k + 1, k + 1)))
    specs = [{"label": f"F1 d={k}", "dim": k, "family": "F1", "Sigma": S, "s": noise, "b": b_draw, "free": free,
              "direction": direction},
             {"label": f"U*,V* d={k}", "dim": k, "family": "F1", "Sigma": S, "s": noise, "b": b_star,
              "free": zero, "direction": direction}]
    if k == 1:
        a_draw = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0))
        specs.append({"label": "F2 d=1", "dim": 1, "family": "F2", "Sigma": S, "s": noise, "b": 0.0, "a": a_draw,
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
    k, S, b_spec, s_spec = spec["dim"], spec["Sigma"], spec["b"] or 1.0, spec["s"]
    U, V = (np.array(X, dtype=float) for X in spec["free"])
    uu = np.asarray(spec["direction"], dtype=float)
    q = float(uu @ S @ uu)
    lam = (1.0 + math.sqrt(1.0 + 4.0 * q * b_spec * b_spec * s_spec * s_spec)) / (2.0 * q)
    aa = lam * uu
    U[:k, :k] = ((np.eye(k) - np.outer(uu, aa) @ S) @ np.linalg.inv(S) / b_spec).T
    U[k, :k] = uu
    V[k, :k] = aa
    V[k, k] = b_spec
    return U, V


def perturbed_points(d: int = 3, rho: float = 0.5, noise: float = 0.3) -> list[dict]:
    """Near the paper's point at Toeplitz(rho), d = 3: 1.01 U_* (u = a = 0), and U_*, V_* with u = 0.05 e_1,
    a = 0.05 e_2 (every term of the excess active)."""
    S = toeplitz_sigma(d, rho)
    U, V = bayes_point(S)
    U2, V2 = U.copy(), V.copy()
    U2[d, 0], V2[d, 1] = 0.05, 0.05
    return [{"label": "1.01 U*", "U": 1.01 * U, "V": V, "Sigma": S, "s": noise, "dim": d},
            {"label": "U*, V* with u = 0.05 e1, a = 0.05 e2", "U": U2, "V": V2, "Sigma": S, "s": noise, "dim": d}]


def rank_one_points(rng, n: int = 3) -> list[dict]:
    """The (F2) recipe carried to d = 2: b = 0, U11 = 0, u = e_1, a = Sigma^{-1} e_1 (u a^T Sigma = e_1 e_1^T), random
    Sigma; the first point noiseless."""
    return [_rank_one_point(j, random_covariance(2, rng)) for j in range(n)]


def _rank_one_point(j: int, S) -> dict:
    U, V = np.zeros((3, 3)), np.zeros((3, 3))
    U[2, :2] = [1.0, 0.0]
    V[2, :2] = np.linalg.solve(S, [1.0, 0.0])
    return {"label": f"d=2 recipe {j}", "U": U, "V": V, "Sigma": S, "s": 0.0 if j == 0 else 0.3, "dim": 2}


def excess_definition(p: dict) -> float:
    """R_\\infty - s^2/2 at a point {U, V, Sigma, s} from the definition (verify.icl.references.risk_definition_gh)."""
    return risk_definition_gh(p["U"], p["V"], p["Sigma"], p["s"]) - p["s"] ** 2 / 2


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
    """Relative agreeing digits (verify.kernel.compare.digits_between of claimed / definition's against 1, capped at
    16) of the claimed excess with the definition's, 0 unless the definition's excess is >= ``floor`` (and its
    gradient >= ``grad_floor``): the point must clearly not be a minimizer."""
    def figure(p, subject):
        ref = excess_definition(p)
        if ref < floor:
            return 0.0
        if grad_floor and max(np.abs(g).max() for g in gradient_definition(p["U"], p["V"], p["Sigma"], p["s"])) < grad_floor:
            return 0.0
        return digits_between(subject(p) / ref, 1.0, cap=16.0)
    return figure


def finite_prompt_z(point, bayes, Ls=(10, 100, 1000), prompts=(20000, 20000, 30000)):
    """min z of (R_L - claimed Bayes risk > 0) and of its decrease in L, at (U_*, V_*) (paired estimator plus the
    exact definition-minus-claim, verify.icl.references.gap_to_subject)."""
    S = toeplitz_sigma(point["d"], 0.5)
    U, V = bayes_point(S)
    rng = np.random.default_rng(point["seed"])
    gaps = [gap_to_subject(U, V, S, point["s"], L, n, rng, bayes(point["s"])) for L, n in zip(Ls, prompts)]
    zs = [g.mean / g.stderr for g in gaps] + [(g - h).mean / (g - h).stderr for g, h in zip(gaps, gaps[1:])]
    return min(zs)


def _inv(S, b):
    return np.linalg.inv(S) / b


def _f2_u(a, S):
    return 1.0 / (a * S)


def claimed_minimizers(U11_of=_inv, u_of_a=_f2_u, bayes=lambda s_: s_**2 / 2, where=None):
    """The subject: spec -> (U, V, claimed risk) for the claimed families and Bayes risk."""
    def claim(spec):
        U, V = (where or (lambda sp_: minimizer_uv(sp_, U11_of, u_of_a)))(spec)
        return U, V, bayes(spec["s"])
    return claim


CLAIM = claimed_minimizers()
SIGMA_MINUS_2 = claimed_minimizers(U11_of=lambda S, b: np.linalg.matrix_power(np.linalg.inv(S), 2) / b)
TRUNCATED_ZEROS = claimed_minimizers(where=lambda sp_: truncated_zero_uv(sp_) if sp_["family"] == "F1"
                                     else minimizer_uv(sp_, _inv, _f2_u))
ORIGIN = claimed_minimizers(where=lambda sp_: (np.zeros((sp_["dim"] + 1,) * 2), np.zeros((sp_["dim"] + 1,) * 2)))


def _specs(dims):
    return lambda rng: minimizer_specs(rng, dims)


def excess_points(rng) -> list[dict]:
    r"""The two points near (U_\star, V_\star) (:func:`perturbed_points`) and general points (U, V off the invariant
    subspace, u, a != 0, random non-diagonal \Sigma) at d = 1..6, label noise on (s^2 on both sides of 1/2) and off:
    every term of the sum of squares is active, and d >= 4 sees terms that vanish for small d."""
    general = []
    for k in (1, 2, 3, 4, 5, 6):
        p = random_point(k, rng, noise=k % 3 != 0)
        U, V, S, noise = float_point(p)
        general.append({"label": f"general d={k}, s={float(p['s']):.3g}", "U": U, "V": V, "Sigma": S, "s": noise, "dim": k})
    return perturbed_points() + general


def excess_of(expr):
    """The subject: a closed form of R_inf - s^2/2 at a point {U, V, Sigma, s} (exact, then float)."""
    return lambda p: float(closed_form_value(exact_point(p["U"], p["V"], p["Sigma"], p["s"]), expr))


def _finite_prompt_points(rng):
    return [{"label": "U*, V*, Toeplitz(0.5), d=3, s=1", "d": 3, "s": 1.0, "seed": int(rng.integers(2**63))}]


FP_LS = (10, 100, 300)
FP_PROMPTS = (20000, 20000, 20000)  # s = 1: at s = 0.3 the gap at L = 1000 (0.017) is within the heavy-tailed
# noise of the estimator; s = 1 keeps both the gap and the wrong Bayes risk s^2 far outside it


CHECKS = [
    bound("risk-at-minimizers", CLAIM, risk_gap_at_claim, _specs(range(1, 7)), threshold=1e-10, kind="float64",
          unit="|R - claimed Bayes risk|", what="|R_inf(definition) - s^2/2| at the claimed minimizers",
          description="the definition's risk (exact Gauss-Hermite) equals $s^2/2$ at random members of (F1) (random $b$, "
                      "free entries, $\\Sigma$, $s$), at $(U_\\star,V_\\star)$, $d = 1..6$, and at (F2), $d = 1$",
          mutants=[Mutant("Bayes risk s^2", claimed_minimizers(bayes=lambda s_: s_**2)),
                   Mutant("b U11 = Sigma^-2", SIGMA_MINUS_2),
                   Mutant("minimizers of R_inf without cross and quartic terms", TRUNCATED_ZEROS)]),
    bound("gradient-at-minimizers", CLAIM, gradient_size_at_claim, _specs(range(1, 7)), threshold=1e-8, kind="float64",
          unit="max |grad|", what="max |gradient| (definition under the integral; closed-form gradient)",
          description="the gradient of the definition (differentiated under the integral, exact Gauss-Hermite) and the "
                      "closed-form gradient vanish at the claimed minimizers, $d = 1..6$",
          mutants=[Mutant("b U11 = Sigma^-2", SIGMA_MINUS_2),
                   Mutant("minimizers of R_inf without cross and quartic terms", TRUNCATED_ZEROS)]),
    bound("hessian-psd", CLAIM, min_eigenvalue_at_claim, _specs(range(1, 6)), threshold=-1e-10, relation=">=", kind="float64",
          unit="min eigenvalue / max(1, max)", what="smallest Hessian eigenvalue (relative)",
          description="Hessian (central differences of the definition's gradient, exact: degree $\\le 2$ per entry) "
                      "has eigenvalues $\\ge -10^{-10}$ at the claimed minimizers, $d = 1..5$",
          mutants=[Mutant("the origin U = V = 0 (a saddle)", ORIGIN),
                   Mutant("U11 = -Sigma^-1/b", claimed_minimizers(U11_of=lambda S, b: -np.linalg.inv(S) / b))]),
    bound("perturbed-point", excess_of(SOS_FORM), agreement_if_excess(1e-6, 1e-4), excess_points,
          adapter=lambda expr: excess_of(expr - HALF * s**2 * I1),
          threshold=8, relation=">=", kind="negative-control", unit="digits",
          what="relative digits of the claimed excess vs the definition's (0 unless excess >= 1e-6 and |grad| >= 1e-4)",
          description="near $(U_\\star, V_\\star)$ ($1.01\\,U_\\star$; $u = 0.05e_1$, $a = 0.05e_2$): the excess risk and the "
                      "gradient are clearly non-zero and the excess equals the sum of squares",
          mutants=[Mutant("R_inf without cross and quartic terms", excess_of(TRUNCATED_EXCESS)),
                   Mutant("a minimizer: excess 0", lambda p: 0.0),
                   Mutant("1.01 x excess", scaled(excess_of(SOS_FORM), 1.01))]),
    bound("d1-family-not-in-d2", lambda p: p["Sigma"][1, 1] / 2, agreement_if_excess(1e-3), rank_one_points,
          threshold=8, relation=">=", kind="negative-control", unit="digits",
          what="relative digits of Sigma_22/2 vs the definition's excess (0 unless excess >= 1e-3)",
          description="the (F2) recipe in $d = 2$ ($u a^\\top\\Sigma = e_1e_1^\\top$) has excess risk $\\Sigma_{22}/2 > 0$",
          mutants=[Mutant("the d = 1 family extends: excess 0", lambda p: 0.0),
                   Mutant("Sigma_11/2", lambda p: p["Sigma"][0, 0] / 2),
                   Mutant("1.01 x Sigma_22/2", lambda p: 1.01 * p["Sigma"][1, 1] / 2)]),
    bound("finite-prompt-above-bayes", lambda s_: s_**2 / 2, lambda p, bayes: finite_prompt_z(p, bayes, FP_LS, FP_PROMPTS), _finite_prompt_points, threshold=5.0,
          relation=">=", kind="montecarlo", unit="z", what="min z of R_L - s^2/2 > 0 and of its decrease",
          description="at $(U_\\star,V_\\star)$ the softmax risk $R_L$ exceeds the Bayes risk $s^2/2$ and decreases, "
                      f"$L = 10, 100, 300$, $s = 1$, {FP_PROMPTS[-1]} prompts each (paired estimator plus exact definition-minus-claim)",
          mutants=[Mutant("Bayes risk s^2", lambda s_: s_**2)]),
]


# ------------------------------------------------------------------------------ claims (verify claim)
# The minimizer and its risk as formulas in (Sigma, b, s, I); references: the argmin over U11 (u = a = 0, V = b e e^T)
# of the DEFINITION's R_inf and its value there (verify.icl.references.minimizer_U11), never the closed form.

CLAIM_DIMS = (1, 2, 3, 4, 5)
CLAIM_KINDS = (("generic", True), ("generic", False), ("balanced", True), ("balanced", False))
"""Per d: V = b e e^T with random b or the paper's b = tr(Sigma^-2)^(1/4), label noise s > 0 or s = 0."""
_CLAIM_SALT = 58  # default_rng([seed, 58, d, kind])
FULL_QUADRATURE_MAX_DIM = 2
"""Largest d at which the Bayes risk's reference is the full (w, x_q, eps_q) rule at the argmin."""


def claim_points(seed: int, what: str) -> tuple:
    """Points of ``icl-minimizer-U11`` (``what="U11"``: the minimizer over U11 at u = a = 0, given b, Sigma, s)
    and ``icl-bayes-risk`` (``what="risk"``: the definition's R_inf at that minimizer)."""
    if what not in ("U11", "risk"):
        raise ValueError(f"what: expected 'U11' or 'risk', got {what!r}")
    return tuple(_claim_point(seed, k, j, kind, noise, what) for k in CLAIM_DIMS
                 for j, (kind, noise) in enumerate(CLAIM_KINDS))


def _claim_point(seed: int, k: int, j: int, kind: str, noise: bool, what: str) -> ClaimPoint:
    rng = np.random.default_rng([int(seed), _CLAIM_SALT, k, j])
    S = random_covariance(k, rng, floor=0.4)
    S = sp.ImmutableMatrix(k, k, lambda i, jj: dyadic(S[min(i, jj), max(i, jj)]))
    sv = dyadic(0.2 + 0.6 * rng.random()) if noise else sp.Integer(0)
    with mp.workdps(REF_DPS + 10):
        if kind == "balanced":  # the paper's V_*: b = tr(Sigma^-2)^(1/4)
            Si = mpmath.inverse(mp_matrix(mp_rows(S)))
            b_value = mpmath.root(sum((Si * Si)[i, i] for i in range(k)), 4)
        else:
            b_value = to_mp(dyadic(rng.choice([-1.0, 1.0]) * rng.uniform(0.4, 1.6)))
        Vm = mpmath.zeros(k + 1, k + 1)
        Vm[k, k] = b_value
        U11, risk = minimizer_U11(Vm, S, sv, with_risk=True)
        if what == "risk" and k <= FULL_QUADRATURE_MAX_DIM:  # the full rule over (w, x_q, eps_q) at the minimizer
            Um = mpmath.zeros(k + 1, k + 1)
            Um[:k, :k] = U11
            risk = icl_risk_infinite_quadrature(Um.tolist(), Vm.tolist(), S, sv, dps=REF_DPS - 5)
    vals = {"Sigma": mp_matrix(mp_rows(S)), "b": b_value, "s": to_mp(sv), "I": mpmath.eye(k)}
    cases = frozenset(({"balanced"} if kind == "balanced" else set()) | (set() if noise else {"noiseless"}))
    return ClaimPoint(k, vals, U11 if what == "U11" else risk, cases)


_DIMS = ", ".join(map(str, CLAIM_DIMS))
COVERAGE_U11 = (f"d = {_DIMS}; per d 4 points: V = b e e^T with random b (s > 0; s = 0: noiseless)\n"
                "and with the paper's b = tr(Sigma^-2)^(1/4) (balanced[, noiseless]);\n"
                "Sigma random SPD, non-diagonal for d >= 2.\n"
                "reference: argmin over U11 (u = a = 0) of the definition's R_inf: normal equations\n"
                "E[q q^T] U11 = E[q w^T], moments by the exact 3-node rule over w\n(verify.icl.references.minimizer_U11); "
                "50 digits, tolerance 1e-20.")
COVERAGE_BAYES = (f"d = {_DIMS}; the points of icl-minimizer-U11 (random/balanced b; s > 0, s = 0).\n"
                  "reference: the definition's R_inf at the argmin over U11 (u = a = 0) of the definition:\n"
                  f"full Gauss-Hermite over (w, x_q, eps_q) at d <= {FULL_QUADRATURE_MAX_DIM}, the argmin's moments\n"
                  f"at d >= {FULL_QUADRATURE_MAX_DIM + 1} (verify.icl.references.minimizer_U11); 50 digits, tolerance 1e-20.")

U11_WRONG = ("Sigma/b", "Sigma**-1*b", "Sigma**-2/b", "Sigma**-1/b**2", "(-1/b)*Sigma**-1", "Sigma**-1/(2*b)",
             "(Sigma + s**2*I)**-1/b", "(1 + s**2)*Sigma**-1/b", "trace(Sigma**-2)**(-1/4)*Sigma**-1",
             f"Sigma**-1/b + {vanishing_up_to(3, 'Sigma')}*I", "Sigma**-1/b + " + cayley_hamilton_3("Sigma"),
             "trace(I)/(b*trace(Sigma))*I", "(1 + 1e-12)*Sigma**-1/b")
U11_EQUIVALENTS = ("inverse(Sigma)/b", "(b*Sigma)**-1", "Sigma.I.T/b", "Sigma*(Sigma**2)**-1/b", "0.5*Sigma**-1/(0.5*b)",
                   "b**-1*(Sigma**-1)**3*Sigma**2")
BAYES_WRONG = ("s**2", "s", "0", "s**2*trace(I)/2", "b**2*s**2/2", "s**2/2 + s**4/8", f"s**2/2 + {vanishing_up_to(3, 'Sigma')}*s**2",
               f"s**2/2 + trace({cayley_hamilton_3('Sigma')})", "(1 + 1e-12)*s**2/2")
BAYES_EQUIVALENTS = ("0.5*s**2", "s*s/2", "s**2*trace(I)/(2*trace(I))", "sqrt(s**4)/2", "s**2*trace(Sigma*Sigma**-1)/(2*trace(I))")
_ASSUME = {"noiseless": "s = 0 (the paper's model)", "balanced": "b = tr(Sigma^-2)^(1/4), the paper's V_* (U_* = U11 there)"}
_HELP = "Symbols: Sigma (d x d, SPD); b = V[d,d] (scalar, != 0); s (noise std); I (d x d); SymPy syntax."
CLAIM_U11 = ClaimSpec(
    id="icl-minimizer-U11", statement_id="icl-minimizers", symbols_help="The minimizer U11 of R_inf given b (u = a = 0).\n" + _HELP,
    domains={"b": "scalar", "s": "scalar", "Sigma": "spd", "I": "identity"}, hypotheses={"noiseless": {"s": "0"}, "balanced": {"b": "trace(Sigma**-2)**(1/4)"}},
    summary="argmin over U11 of R_inf at u = a = 0, V = b e e^T (F1: U11 = Sigma^-1/b)", example="Sigma**-1/b",
    expected_shape=lambda k: (k, k), points=functools.partial(claim_points, what="U11"),
    wrong_examples=U11_WRONG, equivalents=U11_EQUIVALENTS, assumptions=_ASSUME, coverage=COVERAGE_U11,
    conditional_examples=(("trace(Sigma**-2)**(-1/4)*Sigma**-1", ("balanced",)),))  # the paper's U_*
CLAIM_BAYES = ClaimSpec(
    id="icl-bayes-risk", statement_id="icl-minimizers", symbols_help="min R_inf (the Bayes risk), a scalar.\n" + _HELP,
    domains={"b": "scalar", "s": "scalar", "Sigma": "spd", "I": "identity"}, hypotheses={"noiseless": {"s": "0"}},
    summary="the Bayes risk: R_inf at its minimizer over U11 (u = a = 0), s^2/2", example="s**2/2", expected_shape=lambda k: (),
    points=functools.partial(claim_points, what="risk"), wrong_examples=BAYES_WRONG, equivalents=BAYES_EQUIVALENTS,
    assumptions={"noiseless": _ASSUME["noiseless"]}, coverage=COVERAGE_BAYES,
    conditional_examples=(("0", ("noiseless",)),))  # the paper's R* = 0


# ------------------------------------------------------------------------------ the statement

STATEMENT = Statement(
    id="icl-minimizers",
    finding=Finding(kind="sharpened", summary="the Bayes risk is s²/2 and (U*, V*) with b U₁₁ = Σ⁻¹, u = a = 0 attains it, for every d", form="in d = 1 a second family of global minimizers exists besides the paper's"),
    number="Sec. 5 (Thm 5.1/5.2, Bayes risk and limit point)",
    title="Bayes risk and the global minimizers of the infinite-prompt ICL risk",
    summary=r"$\mathcal R_\infty - s^2/2 = \tfrac12\mathbb E|\Sigma^{1/2}(g(w) - w)|^2$; minimizers: $bU_{11} = \Sigma^{-1}$, "
            r"$u = a = 0$ (all $d$) plus, in $d = 1$ only, $b = 0$, $U_{11} = 0$, $u a = 1/\Sigma$",
    source="Boursier & Boyer (arXiv 2512.11784), Sec. 5 (limit point U_*, V_*; Bayes risk); ZFB (2024) Thm 4.1 at N = infinity",
    statement_tex=(
        r"\mathcal R_\infty(U,V) - \tfrac{s^2}{2} = \tfrac12\,\mathbb E_w\big\|\Sigma^{1/2}(g(w)-w)\big\|^2"
        r" = \tfrac12\Big[e^\top\Sigma e + 2\,\mathrm{tr}(\Sigma^2)\,b^2\,u^\top\Sigma u + \mathrm{tr}(M^\top\Sigma M)\Big] \ge 0,"
        r"\\ g(w) - w = c_0 + M w + b\,u\,(w^\top\Sigma w),\quad c_0 = U_{11}^\top\Sigma a + b s^2 u,\quad"
        r" M = b\,U_{11}^\top\Sigma + u a^\top\Sigma - I,\quad e = c_0 + b\,\mathrm{tr}(\Sigma)\,u."
        r"\\ \text{Bayes risk } \min\mathcal R_\infty = \tfrac{s^2}{2};\ \operatorname{argmin}\mathcal R_\infty ="
        r" \{b \neq 0,\ U_{11} = \Sigma^{-1}/b,\ u = 0,\ a = 0\}"
        r"\ \cup\ \{d = 1:\ b = 0,\ U_{11} = 0,\ u\,a = 1/\Sigma\},"
        r"\ \text{free entries arbitrary};\\ (U_\star,V_\star) = \big(\mathrm{tr}(\Sigma^{-2})^{-1/4}\mathrm{diag}(\Sigma^{-1},0),"
        r"\ \mathrm{tr}(\Sigma^{-2})^{1/4}e_{d+1}e_{d+1}^\top\big) \text{ is the member with } \|U_{11}\|_F = b."
        r"\\ \text{At every minimizer } \nabla\mathcal R_\infty = 0 \text{ and } \nabla^2\mathcal R_\infty"
        r" = \mathbb E_w[J^\top\Sigma J] \succeq 0."
    ),
    hypotheses_tex=[
        r"w \sim \mathcal N(0, I_d),\ x_i, x_q \sim \mathcal N(0,\Sigma),\ \Sigma \succ 0,\ y = w^\top x + \varepsilon,"
        r"\ \varepsilon \sim \mathcal N(0, s^2)\ (s = 0 \text{ in the paper})",
        r"U, V \in \mathbb R^{(d+1)\times(d+1)};\ U_{11} = U_{1:d,1:d},\ u = U_{d+1,1:d}^\top,\ a = V_{d+1,1:d}^\top,"
        r"\ b = V_{d+1,d+1};\ U_{:,d+1} \text{ and } V_{1:d,:} \text{ do not enter } \mathcal R_\infty",
        r"\mathcal R_\infty \text{ in closed form: statement icl-risk-infinite}",
    ],
    derivations=derivations,
    checks=CHECKS,
    claims=[CLAIM_U11, CLAIM_BAYES],
    closed_form=HALF * s**2 * I1 + SOS_FORM,
    domains={"U_11": "matrix", "u": "vector", "a": "vector", "b": "scalar", "s": "scalar", "Sigma": "spd", "I": "identity"},
    formula_names={"U_11": "U11"},
    notes_tex=[
        r"The paper (via ZFB) names $(U_\star,V_\star)$ as the limit of the flow; the global minimizers form the "
        r"one-parameter family $bU_{11} = \Sigma^{-1}$, $u = a = 0$ (plus the free entries), which the balancedness "
        r"$\|U_{11}\|_F^2 - b^2 = 0$ of the initialisation pins to $(U_\star, V_\star)$.",
        r"In $d = 1$ there is one more family of global minimizers: $b = 0$, $U_{11} = 0$, $u\,a = 1/\Sigma$. "
        r"The attention score $z'^\top U(x_q,0) = u\,y' x_q$ tilts the tokens by their label and the value reads "
        r"the $x$-coordinate: $p_\infty = a\,\mathbb E_{\mu_{x_q}}[x'] = a\Sigma w\,u x_q = w x_q$. It lies off the "
        r"invariant subspace, so the balanced flow of the paper never meets it; for $d \ge 2$ it does not exist "
        r"($\operatorname{rank}(u a^\top\Sigma) \le 1$).",
        r"The minimizers are not strict: the Hessian has a null direction along each family (and the free "
        r"entries), as expected from the symmetry $(U, V) \mapsto (\lambda U, V/\lambda)$.",
        r"With label noise the Bayes risk is $s^2/2$ (the intrinsic label noise); "
        r"in the paper's noiseless model it is $0$.",
    ],
    order=5.1,
)
