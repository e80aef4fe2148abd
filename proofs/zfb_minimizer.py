r"""ZFB (2024) Theorem 4.1 and its N -> \infty limit: why \Gamma, the balanced minimizer, ZFB's reduced flow, Theorem 4.2's
general form, and the limit to Boursier-Boyer's (U_*, V_*).

Within the predictors x_q^T C \hat S w (the LSA on u_{12} = u_{21} = 0: C = u U_{11}^T) the population loss at training length
N is f(C) = tr(C^T\Lambda C\Lambda\Gamma) - 2tr(\Lambda C\Lambda) + tr\Lambda, minimized exactly at C = \Gamma^{-1}; the balanced point
of gradient flow is W_*.  Numerically, W_*(\Gamma) is compared with the minimizer of the population loss found without \Gamma.
"""

from __future__ import annotations

import itertools

import numpy as np
import sympy as sp

import mpmath

from verify.kernel.catalogue import cayley_hamilton_3, vanishing_up_to
from verify.icl import zfb_references as zr
from verify.icl.risk import toeplitz_sigma
from verify.icl.zfb import error_sym, form_at, gamma_form, gamma_sym, lsa_trained_minimizer, minimizer_from_gamma, zfb_gamma
from verify.kernel.claim import ClaimPoint, ClaimSpec
from verify.kernel.derivation import Derivation, maps
from verify.kernel.evidence import agreement
from verify.kernel.verdict import Finding
from verify.kernel.statement import Mutant, Statement
from verify.numerics.strategies import random_covariance
from verify.symbolic import symbolic_matrix, symbolic_vector
from verify.symbolic.gaussian_mgf import GaussianBlock, PromptAverage, mgf_expectation, symmetric_symbols

N, M = sp.symbols("N M", positive=True)
sigma = sp.Symbol("sigma", positive=True)
_E = r"\xrightarrow{\ \mathbb E\ }"


def _diag(name, d):
    return sp.diag(*[sp.Symbol(f"{name}_{i + 1}", positive=True) for i in range(d)])


def _s(e):
    return e[0, 0] if isinstance(e, sp.MatrixBase) else e


def _tr(A):
    return A.trace()


def _loss(C, Lam, G):
    return _tr(C.T * Lam * C * Lam * G) - 2 * _tr(Lam * C * Lam) + _tr(Lam)


def derivation_minimizer(d: int = 2) -> Derivation:
    r"""The loss of x_q^T C\hat S w at M = N, from its definition to the completed square around C = \Gamma^{-1}."""
    Lam, S, C = _diag("lambda", d), symmetric_symbols("s", d), symbolic_matrix("C", d, d)  # WLOG diagonal (rotate x)
    w, q = symbolic_vector("w", d), symbolic_vector("q", d)
    G = gamma_sym(Lam, N)
    Gi = G.inv()
    Dl = C - Gi
    vecD = Dl.reshape(d * d, 1)
    kron = sp.Matrix(sp.BlockMatrix([[Lam[i, j] * (Lam * G) for j in range(d)] for i in range(d)]).as_explicit())
    final = _tr(Lam) - _tr(Gi * Lam**2) + _s(vecD.T * kron * vecD)
    D = Derivation(f"zfb-minimizer d={d}", (_s(q.T * C * S * w) - _s(w.T * q)) ** 2,
                   start_tex=r"(x_q^\top C\hat S w - w^\top x_q)^2", conclusion=final)
    wq = [GaussianBlock(list(w), sp.eye(d)), GaussianBlock(list(q), Lam)]
    D.step(_tr((C * S - sp.eye(d)).T * Lam * (C * S - sp.eye(d))), r"mean over $w \sim \mathcal N(0, I)$, $x_q \sim \mathcal N(0, \Lambda)$ (MGF)",
           check=maps("E over w, x_q (MGF route)", lambda e: mgf_expectation(e, wq), _E),
           rhs_tex=r"\mathrm{tr}\big((C\hat S - I)^\top\Lambda(C\hat S - I)\big)", label="condition-on-prompt")
    D.step(_loss(C, Lam, G), r"mean over a prompt of $N$ tokens (Wishart route, $B = C^\top\Lambda C$); $\Lambda\Gamma$ symmetric",
           check=maps("E over the prompt (MGF route)", PromptAverage(S, Lam, N), _E),
           rhs_tex=r"\mathrm{tr}(C^\top\Lambda C\Lambda\Gamma) - 2\,\mathrm{tr}(\Lambda C\Lambda) + \mathrm{tr}\Lambda", label="loss")
    D.step(_tr(Lam) - _tr(Gi * Lam**2) + _tr(Dl.T * Lam * Dl * Lam * G),
           r"complete the square around $C = \Gamma^{-1}$ ($\Lambda\Gamma = \Gamma\Lambda$)", label="complete-square",
           rhs_tex=r"\mathrm{tr}\Lambda - \mathrm{tr}(\Gamma^{-1}\Lambda^2) + \mathrm{tr}(\Delta^\top\Lambda\Delta\Lambda\Gamma),\ \Delta = C - \Gamma^{-1}")
    D.step(final, r"$\Lambda\otimes\Lambda\Gamma \succ 0$: the minimum is attained exactly at $C = \Gamma^{-1}$", label="psd",
           rhs_tex=r"\mathrm{tr}\Lambda - \mathrm{tr}(\Gamma^{-1}\Lambda^2) + \mathrm{vec}(\Delta^\top)^\top(\Lambda\otimes\Lambda\Gamma)\mathrm{vec}(\Delta^\top)")
    return D


def derivation_flow(d: int = 2, which: str = "U") -> Derivation:
    r"""ZFB's reduced flow on u_{12} = u_{21} = 0: -\partial L/\partial U_{11} and -\partial L/\partial u of L = f(uU_{11}^T)/2."""
    Lam = symbolic_matrix("l", d, d, symmetric=True)
    G = gamma_sym(Lam, N)
    U, u = symbolic_matrix("U", d, d), sp.Symbol("u")
    Lred = _loss(u * U.T, Lam, G) / 2
    if which == "U":
        rhs, tex = -u**2 * G * Lam * U * Lam + u * Lam**2, r"-u^2\Gamma\Lambda U_{11}\Lambda + u\Lambda^2"
        grad = maps(r"$-\partial/\partial U_{11}$", lambda e: sp.Matrix(d, d, lambda i, j: -sp.diff(e, U[i, j])))
    else:
        rhs, tex = -u * _tr(G * Lam * U * Lam * U.T) + _tr(Lam**2 * U.T), r"-\mathrm{tr}[u\Gamma\Lambda U_{11}\Lambda U_{11}^\top - \Lambda^2U_{11}^\top]"
        grad = maps(r"$-\partial/\partial u$", lambda e: -sp.diff(e, u))
    D = Derivation(f"zfb-flow-{which} d={d}", Lred, start_tex=r"L(U_{11}, u) = \tfrac12 f(uU_{11}^\top)", conclusion=rhs)
    D.step(rhs, f"ZFB's reduced ODE for ${'U_{11}' if which == 'U' else 'u'}$; at $\\Gamma = \\Lambda = \\Sigma$ it is BB's flow",
           check=grad, rhs_tex=tex, label=f"ode-{which}")
    return D


def derivation_balanced(d: int = 2) -> Derivation:
    r"""W_* has u U_{11}^T = \Gamma^{-1}."""
    Lam = _diag("lambda", d)
    Gi = gamma_sym(Lam, N).inv()
    k = _tr(Gi**2)
    D = Derivation(f"zfb-balanced d={d}", k ** sp.Rational(1, 4) * (k ** sp.Rational(-1, 4) * Gi).T,
                   start_tex=r"u_* U_{11,*}^\top", conclusion=Gi)
    D.step(Gi, r"$\mathrm{tr}(\Gamma^{-2})^{1/4}\,\mathrm{tr}(\Gamma^{-2})^{-1/4} = 1$, $\Gamma$ symmetric", rhs_tex=r"\Gamma^{-1}", label="product")
    return D


def derivation_average_w(d: int = 2) -> Derivation:
    r"""Theorem 4.2's form with the well-specified moments, averaged over w ~ N(0, I): the averaged closed form (\tau = \sigma)."""
    Lam = _diag("lambda", d)
    w = symbolic_vector("w", d)
    Gi = gamma_sym(Lam, N).inv()
    m, Sxy = Lam * w, Lam * w * w.T * Lam + _s(w.T * Lam * w) * Lam + sigma**2 * Lam
    per_w = _s(m.T * Gi * Lam * Gi * m) + _tr(Gi * Lam * Gi * Sxy) / M - 2 * _s(m.T * Gi * m) + _s(w.T * Lam * w) + sigma**2
    D = Derivation(f"zfb-theorem-4.2-average d={d}", per_w, conclusion=error_sym(Lam, N, M, sigma, sigma),
                   start_tex=r"\mathbb E[\hat m^\top\Gamma^{-1}\Lambda\Gamma^{-1}\hat m] - 2m^\top\Gamma^{-1}m + \mathbb Ey^2,\ m = \Lambda w,\ \Sigma_{xy} = \Lambda ww^\top\Lambda + (w^\top\Lambda w + \sigma^2)\Lambda")
    D.step(error_sym(Lam, N, M, sigma, sigma), r"mean over $w \sim \mathcal N(0, I)$ (MGF): the averaged closed form with $\tau = \sigma$",
           check=maps("E over w (MGF route)", lambda e: mgf_expectation(e, [GaussianBlock(list(w), sp.eye(d))]), _E),
           rhs_tex=r"\mathrm{tr}\Lambda - 2\mathrm{tr}(\Gamma^{-1}\Lambda^2) + \mathrm{tr}(\Gamma^{-1}\Lambda\Gamma^{-1}\Gamma_M\Lambda) + \tfrac{\sigma^2}{M}\mathrm{tr}(\Gamma^{-2}\Lambda^2) + \sigma^2",
           label="average-over-w")
    return D


def _limit(var):
    def go(e):
        return e.applyfunc(lambda x: sp.limit(x, var, sp.oo)) if isinstance(e, sp.MatrixBase) else sp.limit(e, var, sp.oo)
    return maps(f"limit {var} -> oo", go, r"\xrightarrow[" + sp.latex(var) + r"\to\infty]{}")


def derivations_limit(d: int) -> list[Derivation]:
    """N -> oo (diagonal Lambda: every formula is rotation-equivariant): W_* -> (U_*, V_*), error -> 0 at rate (d+1)trL/N."""
    Lam = _diag("lambda", d)
    Gi = gamma_sym(Lam, N).inv()
    Si = Lam.inv()
    k, kS = _tr(Gi**2), _tr(Si**2)
    err_nn = error_sym(Lam, N, N, 0, 0)
    items = [
        ("U", k ** sp.Rational(-1, 4) * Gi, kS ** sp.Rational(-1, 4) * Si, r"\mathrm{tr}(\Gamma^{-2})^{-1/4}\Gamma^{-1}", r"\mathrm{tr}(\Sigma^{-2})^{-1/4}\Sigma^{-1}"),
        ("V", k ** sp.Rational(1, 4), kS ** sp.Rational(1, 4), r"\mathrm{tr}(\Gamma^{-2})^{1/4}", r"\mathrm{tr}(\Sigma^{-2})^{1/4}"),
        ("rate", N * err_nn, (d + 1) * _tr(Lam), r"N\,\mathbb E(\hat y_q - y_q)^2|_{M=N}", r"(d+1)\mathrm{tr}\Lambda"),
        ("fixed-M", error_sym(Lam, N, M, 0, 0), (d + 1) * _tr(Lam) / M, r"\mathbb E(\hat y_q - y_q)^2", r"\tfrac{(d+1)\mathrm{tr}\Lambda}{M}"),
    ]
    out = []
    for label, start, lim, s_tex, l_tex in items:
        D = Derivation(f"zfb-limit-{label} d={d}", start, start_tex=s_tex, conclusion=lim)
        D.step(lim, r"$\Gamma_N \to \Lambda = \Sigma$ as $N \to \infty$", check=_limit(N), rhs_tex=l_tex, label=label)
        out.append(D)
    return out


def derivations() -> list[Derivation]:
    return ([derivation_minimizer(2), derivation_flow(2, "U"), derivation_flow(2, "u"), derivation_balanced(2),
             derivation_average_w(1)] + derivations_limit(1) + derivations_limit(2))


LAMBDAS = [toeplitz_sigma(3, 0.5), np.diag([1.0, 0.25]), np.array([[0.3]])]
GAMMA_FORM = gamma_form(N)
r"""The statement's closed form \Gamma = (1 + 1/N)\Lambda + tr(\Lambda)/N I_d (general d, SymPy)."""


def _claimed(gamma):
    return lambda p: list(minimizer_from_gamma(gamma(p["Lambda"], p["N"])))


def gamma_of(expr):
    r"""A general-d SymPy form of \Gamma (the closed form or a slip of it) as a numpy function (\Lambda, N) -> \Gamma,
    evaluated exactly at the float values (their exact dyadic rationals), then rounded."""
    def gamma(Lam, n):
        Lm = sp.ImmutableMatrix([[sp.Rational(float(x)) for x in row] for row in np.asarray(Lam, dtype=float)])
        G = form_at(expr, Lm, {N: sp.Integer(int(n))})
        return np.array(sp.Matrix(G).tolist() if isinstance(G, sp.MatrixBase) else [[G]], dtype=float)
    return gamma


def minimizer_points(rng) -> list[dict]:
    r"""\Lambda at d = 1, 2, 3 (the fixed ones) and random non-diagonal \Lambda at d = 4, 5, 6 (terms vanishing for small
    d, e.g. e_4(\Lambda), are seen), each at N = 1, 3, 10, 1000."""
    extra = [random_covariance(k, rng, floor=0.3) for k in (4, 5, 6)]
    return [{"Lambda": L, "N": n, "label": f"d={L.shape[0]}, N={n}"} for L in LAMBDAS + extra for n in (1, 3, 10, 1000)]


def _gamma_points(rng) -> list[dict]:
    return [{"Lambda": random_covariance(k, rng, floor=0.3), "N": n, "label": f"d={k}, N={n}"}
            for k in (1, 2, 3, 4, 5, 6) for n in (1, 7)]


# ------------------------------------------------------------------------------------------ user claims (verify claim)
# ``verify claim zfb-gamma``: exact rational points, d = 1..5, with references computed from the DEFINITION without
# Gamma (verify.icl.zfb_references): Gaussian fourth moments read off the moment generating function, the prompt
# average by pair counting, the population-loss minimizer by a linear solve, Gamma := its inverse.

CLAIM_DPS = 40
CLAIM_DIMS = (1, 2, 3, 4, 5)


def _e4(L) -> float:
    ev = np.linalg.eigvalsh(np.asarray(L, dtype=float))
    return float(sum(np.prod(c) for c in itertools.combinations(ev, 4)))


def gamma_claim_points(seed: int) -> list:
    r"""Points of ``verify claim zfb-gamma``: d = 1..5, two (\Lambda, N) each (generic non-diagonal \Lambda, N in 2..40,
    and N = 1 at d = 1), reference \Gamma = C^{-1} from the Gamma-free minimizer (verify.icl.zfb_references.gamma_reference)."""
    rng = np.random.default_rng([seed, 71])
    return [_gamma_point(dim, zr.rational_lambda(dim, rng), 1 if (dim, j) == (1, 0) else int(rng.integers(2, 41)))
            for dim in CLAIM_DIMS for j in range(2)]


def _gamma_point(dim: int, Lam, n: int) -> ClaimPoint:
    with mpmath.mp.workdps(CLAIM_DPS + 10):
        values = {"Lambda": zr.to_mpmath(Lam), "N": mpmath.mpf(n), "I": mpmath.eye(dim)}
        return ClaimPoint(dim, values, zr.to_mpmath(zr.gamma_reference(Lam, n)))


_POINTS = ("d = 1..5, generic Lambda = R R^T + I/4 (R in (1/16)Z, no zero entry), N in 1..40, exact;\n"
           "reference without Gamma: the minimizer C of the population loss (a linear solve;\n"
           "Gaussian fourth moments read off the MGF, prompt average by pair counting)")
_SYNTAX = "syntax: SymPy's: * matrix product, .T transpose, **-1 or inverse() inverse, trace()."

GAMMA_CLAIM = ClaimSpec(
    id="zfb-gamma", statement_id="zfb-minimizer",
    domains={"Lambda": "spd", "N": "integer", "I": "identity"},
    summary="ZFB Thm 4.1's Gamma(Lambda, N): the trained LSA's C = u U11^T is Gamma^{-1}",
    symbols_help="symbols: Lambda (d x d, SPD), N (training prompt length), I (d x d identity).\n" + _SYNTAX,
    example="(1 + 1/N)*Lambda + trace(Lambda)/N*I", expected_shape=lambda d: (d, d), points=gamma_claim_points,
    coverage=_POINTS + ";\nreference Gamma = C^{-1} (40 digits of the exact value)",
    equivalents=("((N + 1)*Lambda + trace(Lambda)*I)/N", "Lambda + (Lambda + trace(Lambda)*I)/N",
                 "N**-1*(Lambda*(N + 1) + I*trace(Lambda))", "(1.0 + 1/N)*Lambda.T + 0.5*trace(2*Lambda)/N*I",
                 "inverse(N*inverse((N + 1)*Lambda + trace(Lambda)*I))", "Lambda*(1 + 1/N) + trace(Lambda*I)*I/N",
                 "(Lambda + trace(Lambda)*I/(N + 1))*(N + 1)/N"),
    wrong_examples=("(1 + 2/N)*Lambda + trace(Lambda)/N*I",                # 2/N for 1/N
                    "Lambda", "(1 + 1/N)*Lambda", "Lambda + trace(Lambda)/N*I",
                    "(1 + 1/N)*Lambda + trace(Lambda)/N*Lambda",           # I <-> Lambda
                    "(1 + 1/N)*Lambda + trace(Lambda**2)/N*I",              # tr(Lambda) <-> tr(Lambda^2)
                    "(1 + 1/N)*Lambda + trace(Lambda)**2/N*I",
                    "((1 + 1/N)*Lambda + trace(Lambda)/N*I)**-1",           # Gamma inverted
                    "(1 + 1/N)*Lambda + trace(Lambda)/(2*N)*I", "(1 + 1/N)*Lambda + trace(Lambda)/N**2*I",
                    "(1 + 1/(N + 1))*Lambda + trace(Lambda)/(N + 1)*I",
                    "(1 + 1e-12)*((1 + 1/N)*Lambda + trace(Lambda)/N*I)",   # relative offset 1e-12
                    f"(1 + 1/N)*Lambda + trace(Lambda)/N*I + {vanishing_up_to(3, 'Lambda')}*Lambda/N",  # 0 at d <= 3
                    f"(1 + 1/N)*Lambda + trace(Lambda)/N*I + {cayley_hamilton_3('Lambda')}/N",        # 0 at d <= 3
                    f"(1 + 1/N)*Lambda + trace(Lambda)/N*I + {vanishing_up_to(4, 'Lambda')}*I"),       # 0 at d <= 4
)


STATEMENT = Statement(
    id="zfb-minimizer",
    finding=Finding(kind="verified", summary="C = Γ⁻¹ minimizes the linear self-attention population loss, W* is the balanced point, and N → ∞ gives (U*, V*)"),
    number="ZFB Thm 4.1",
    title="The LSA global minimizer: $\\Gamma$, the balanced point $W_*$, the reduced flow and the $N\\to\\infty$ limit",
    summary="C = u U_11^T = Γ^{-1} minimizes the LSA population loss; W_* is the balanced point; N -> ∞ gives BB's (U_*, V_*)",
    source="Zhang, Frei & Bartlett (2024), JMLR 25(49), Theorem 4.1 and its proof",
    statement_tex=(r"\Gamma = \Big(1 + \frac1N\Big)\Lambda + \frac{\mathrm{tr}\Lambda}{N}I_d,\quad "
                   r"\arg\min_C \mathbb E(x_q^\top C\hat S w - w^\top x_q)^2 = \Gamma^{-1},\quad W_*(N) \to (U_*, V_*)"),
    hypotheses_tex=[r"w \sim \mathcal N(0, I_d),\ x_i, x_q \sim \mathcal N(0, \Lambda);\ u_{12} = u_{21} = 0 \text{ (ZFB's invariant manifold)}"],
    derivations=derivations,
    checks=[
        agreement("trained-minimizer", subject=_claimed(zfb_gamma),
                  reference=lambda p: list(lsa_trained_minimizer(p["Lambda"], p["N"])),
                  points=minimizer_points, adapter=lambda expr: _claimed(gamma_of(expr)),
                  digits=12, kind="float64", reference_name="the Γ-free minimizer of the exact population loss",
                  mutants=[Mutant("Gamma = (1 + 2/N)Lambda + tr(Lambda)/N I",
                                  _claimed(lambda L, n: (1 + 2 / n) * L + np.trace(L) / n * np.eye(L.shape[0]))),
                           Mutant("Gamma = Lambda at finite N", _claimed(lambda L, n: L))],
                  description="W_*(Γ) vs the minimizer of the LSA population loss on u12 = u21 = 0 computed from Isserlis "
                              "moments of the prompt (no Γ), balanced as gradient flow from ZFB's initialisation; d = 1..6, "
                              "N = 1, 3, 10, 1000"),
        agreement("numpy-gamma-vs-closed-form", subject=lambda p: zfb_gamma(p["Lambda"], p["N"]),
                  reference=lambda p: gamma_of(GAMMA_FORM)(p["Lambda"], p["N"]),
                  points=_gamma_points, digits=13, kind="float64", reference_name="the SymPy closed form evaluated exactly",
                  mutants=[Mutant("zfb_gamma with tr(Lambda)/N -> tr(Lambda)/(N + 1)",
                                  lambda p: zfb_gamma(p["Lambda"], p["N"]) - np.trace(p["Lambda"]) / (p["N"] * (p["N"] + 1))
                                  * np.eye(p["Lambda"].shape[0])),
                           Mutant("zfb_gamma with + e_4(Lambda)/N I", lambda p: zfb_gamma(p["Lambda"], p["N"])
                                  + _e4(p["Lambda"]) / p["N"] * np.eye(p["Lambda"].shape[0]))],
                  description="the numpy Γ (verify.icl.zfb.zfb_gamma: the public API's, and every ZFB check's) vs the "
                              "statement's SymPy closed form in exact arithmetic, d = 1..6"),
    ],
    closed_form=GAMMA_FORM, domains=GAMMA_CLAIM.domains,
    claims=[GAMMA_CLAIM],
    order=7.1,
)
