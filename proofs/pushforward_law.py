r"""The pushforward law of Lemma 2.1: T[\mu]_\# \mu is Gaussian.

**Statement.**  For \mu = N(m, \Gamma) on R^d (\Gamma \succ 0), any K, Q, V and U = K^T Q,

    T[\mu]_\# \mu = N( V(m + \Gamma U m),  V \Gamma U \Gamma U^T \Gamma V^T ).

**Proof.**  By Lemma 2.1, T[\mu](x) = V m + M x with M = V\Gamma U: an affine map.  For X ~ \mu and Y = T[\mu](X),
\log E e^{s^T Y} = s^T V m + \log M_X(M^T s) = s^T(Vm + Mm) + \tfrac12 s^T M\Gamma M^T s, the log-MGF of the Gaussian
N(Vm + Mm, M\Gamma M^T); M\Gamma M^T = V\Gamma U \Gamma U^T \Gamma^T V^T = V\Gamma U\Gamma U^T\Gamma V^T (\Gamma symmetric).
The transposes matter: V\Gamma U^T\Gamma U\Gamma V^T (U for U^T) is a different matrix as soon as U is not normal.

**Evidence.**  Nested quadrature (Gauss-Hermite over X of the *definition* of T[\mu], a tilted mean by the
trapezoid rule: verify.gaussian.pushforward, never the affine formula), and Monte Carlo on pushforward samples: mean,
covariance entries and the Gaussian fourth-moment ratio, z-scores with i.i.d. standard errors.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import sympy as sp
from mpmath import mp

from verify.gaussian.pushforward import (definition_field, nested_moments, nested_moments_checked, non_normal_point,
                                         pushforward_moment_estimates, pushforward_samples)
from verify.kernel.catalogue import symbols_help
from verify.kernel.claim import ClaimPoint, ClaimSpec
from verify.kernel.derivation import Assumption, Derivation, by, equal_given
from verify.kernel.evidence import Mutant, agreement, z_test
from verify.kernel.verdict import Finding
from verify.kernel.statement import Statement
from verify.numerics.closed_form import float_closed_form
from verify.numerics.measures import Gaussian
from verify.numerics.quadrature import log_mgf, mp_matrix
from verify.numerics.strategies import attention_point
from verify.symbolic import explicit_at

DPS = 40
n = sp.Symbol("d", integer=True, positive=True)
K, Q, V, Gamma = (sp.MatrixSymbol(s, n, n) for s in ("K", "Q", "V", "Gamma"))
m, s, x, a = (sp.MatrixSymbol(v, n, 1) for v in ("m", "s", "x", "a"))
U = K.T * Q
SYMBOLS = (K, Q, V, m, Gamma)

PUSH_MEAN = V * (m + Gamma * U * m)
r"""V(m + \Gamma U m), U = K^T Q."""
PUSH_COV = V * Gamma * U * Gamma * U.T * Gamma * V.T
r"""V \Gamma U \Gamma U^T \Gamma V^T."""

STATEMENT_TEX = (r"T[\mu]_\#\mu = \mathcal N\big(V(m + \Gamma U m),\ V\Gamma U\Gamma U^\top\Gamma V^\top\big),\ "
                 r"U = K^\top Q,\ \mu = \mathcal N(m,\Gamma)")



def _as_float(expr, symbols=SYMBOLS, at=lambda p: p):
    """A float64 subject: the SymPy ``expr`` evaluated by numpy at the values ``at(point)``."""
    f = float_closed_form(expr, symbols)
    return lambda p: f(at(p))


# ------------------------------------------------------------------------------------ assumptions

FIELD_MEAN = sp.MatrixSymbol(r"\mathbb{E}[T[\mu](X)]", n, 1)
FIELD_COV = sp.MatrixSymbol(r"\mathrm{Cov}(T[\mu](X))", n, n)
EX = sp.MatrixSymbol(r"\mathbb{E}[X]", n, 1)
CX = sp.MatrixSymbol(r"\mathrm{Cov}(X)", n, n)


FIELD = V * (m + Gamma * U * x)
"""Lemma 2.1's field at a query x, the form the assumption's check evaluates (all queries at once: x = X^T)."""


def _field(expr):
    return lambda p: _as_float(expr, SYMBOLS + (x,), lambda q: dict(q, x=q["X"].T))(p).T


def _field_points(rng):
    out = []
    for dim in (1, 2, 3):
        p = attention_point(dim, rng, 0.5)
        out.append(dict(p, X=p["m"] + rng.standard_normal((6, dim)) @ np.linalg.cholesky(p["Gamma"]).T, dim=dim))
    return out


LEMMA_FIELD = Assumption(
    "lemma-2.1-affine-field",
    r"T[\mu](x) = Vm + V\Gamma U x\ \Rightarrow\ \mathbb E\,T[\mu](X) = Vm + V\Gamma U\,\mathbb E X,\ "
    r"\mathrm{Cov}\,T[\mu](X) = (V\Gamma U)\,\mathrm{Cov}(X)\,(V\Gamma U)^\top",
    {FIELD_MEAN: V * m + V * Gamma * U * EX, FIELD_COV: V * Gamma * U * CX * (V * Gamma * U).T},
    agreement("lemma-2.1-affine-field", subject=_field(FIELD),
              reference=lambda p: definition_field(p["K"], p["Q"], p["V"], p["m"], p["Gamma"], p["X"]),
              points=_field_points, digits=11, kind="float64", reference_name="the tilted mean by the trapezoid rule",
              description="T[mu](x) affine (Lemma 2.1) at 6 queries x ~ mu, d = 1, 2, 3, against the definition",
              mutants=[Mutant("U^T for U", _field(V * (m + Gamma * U.T * x))), Mutant("missing V m", _field(V * Gamma * U * x))]))

LOG_MGF = sp.Function(r"\log M_X")


def _mgf_points(rng):
    pts = []
    for dim in (1, 2):
        p = attention_point(dim, rng, 0.5)
        pts.append({"a": 0.6 * rng.standard_normal(dim), "m": p["m"], "Gamma": p["Gamma"], "dim": dim})
    return pts


GAUSSIAN_LOG_MGF = a.T * m + a.T * Gamma * a / 2
"""log E e^{a^T X}, X ~ N(m, Gamma), the form the assumption's check evaluates."""


def _log_mgf(expr):
    return _as_float(expr, (a, m, Gamma))


def _mgf_rule(dim):
    e = _explicit(dim)

    def rule(expr):
        def repl(*args):
            a = sp.Matrix(args)
            return (a.T * e["m"])[0, 0] + (a.T * e["Gamma"] * a)[0, 0] / 2
        return expr.replace(LOG_MGF, repl)
    return rule


def gaussian_mgf(dim: int) -> Assumption:
    return Assumption(
        "gaussian-log-mgf", r"\log M_X(a) = \log\mathbb E e^{a^\top X} = a^\top m + \tfrac12 a^\top\Gamma a,\ X\sim\mathcal N(m,\Gamma)",
        _mgf_rule(dim),
        agreement("gaussian-log-mgf", subject=_log_mgf(GAUSSIAN_LOG_MGF),
                  reference=lambda p: float(log_mgf(Gaussian(p["m"], p["Gamma"]), p["a"], 30)),
                  points=_mgf_points, digits=12, kind="quadrature", reference_name="log of the quadrature MGF",
                  description="log E e^{a^T X} by Gauss-Hermite, d = 1, 2",
                  mutants=[Mutant("missing 1/2", _log_mgf(a.T * m + a.T * Gamma * a))]))


# ------------------------------------------------------------------------------------ derivations


def derivation_moments() -> list[Derivation]:
    """General d: mean and covariance of the image of X ~ N(m, Gamma) under the affine field of Lemma 2.1."""
    mean = Derivation("pushforward mean, general $d$", FIELD_MEAN, start_tex=r"\mathbb E_{X\sim\mu}[T[\mu](X)]",
                      conclusion=PUSH_MEAN)
    mean.step(V * m + V * Gamma * U * EX, r"Lemma 2.1: $T[\mu]$ is affine; linearity of $\mathbb E$",
              check=by(LEMMA_FIELD), label="affine-field")
    mean.step(V * m + V * Gamma * U * m, r"$\mathbb E X = m$", check=equal_given({EX: m}, "E X = m"), label="mean-of-X")
    mean.step(PUSH_MEAN, "factor $V$", label="factor")
    cov = Derivation("pushforward covariance, general $d$", FIELD_COV, start_tex=r"\mathrm{Cov}_{X\sim\mu}(T[\mu](X))",
                     conclusion=PUSH_COV)
    cov.step(V * Gamma * U * CX * (V * Gamma * U).T, r"Lemma 2.1: $T[\mu](X) - \mathbb E T[\mu](X) = V\Gamma U(X - m)$",
             check=by(LEMMA_FIELD), label="affine-field")
    cov.step(V * Gamma * U * Gamma * U.T * Gamma.T * V.T, r"$\mathrm{Cov}(X) = \Gamma$; $(ABC)^\top = C^\top B^\top A^\top$",
             check=equal_given({CX: Gamma}, "Cov X = Gamma"), label="cov-of-X")
    cov.step(PUSH_COV, r"$\Gamma^\top = \Gamma$", check=equal_given({Gamma.T: Gamma}, "Gamma symmetric"), label="symmetry")
    return [mean, cov]


def _explicit(dim):
    from verify.symbolic import symbolic_matrix, symbolic_vector

    out = {x.name: symbolic_matrix(x.name, dim, dim, symmetric=x is Gamma) for x in (K, Q, V, Gamma)}
    out.update({x.name: symbolic_vector(x.name, dim) for x in (m, s)})
    return out


def derivation_law(dim: int) -> Derivation:
    """Explicit d: the log-MGF of Y = T[mu](X) is that of N(mean, cov), so the law is Gaussian."""
    e = _explicit(dim)
    Kd, Qd, Vd, Gd, md, sd = (e[k] for k in ("K", "Q", "V", "Gamma", "m", "s"))
    M = Vd * Gd * Kd.T * Qd
    a = M.T * sd
    start = (sd.T * Vd * md)[0, 0] + LOG_MGF(*a)
    mean_e = explicit_at(PUSH_MEAN, n, dim, symmetric=[Gamma])
    cov_e = explicit_at(PUSH_COV, n, dim, symmetric=[Gamma])
    mean_e = mean_e if isinstance(mean_e, sp.MatrixBase) else sp.Matrix([[mean_e]])
    cov_e = cov_e if isinstance(cov_e, sp.MatrixBase) else sp.Matrix([[cov_e]])
    target = (sd.T * mean_e)[0, 0] + (sd.T * cov_e * sd)[0, 0] / 2
    d = Derivation(f"the law is Gaussian, explicit $d={dim}$ (log-MGF)", start,
                   start_tex=r"\log\mathbb E e^{s^\top T[\mu](X)} = s^\top V m + \log M_X(M^\top s),\ M = V\Gamma U",
                   conclusion=target, brief=dim > 1)
    d.step(sp.expand((sd.T * Vd * md)[0, 0] + (a.T * md)[0, 0] + (a.T * Gd * a)[0, 0] / 2),
           r"Gaussian log-MGF of $X$ at $a = M^\top s$", check=by(gaussian_mgf(dim)),
           rhs_tex=r"s^\top(Vm + Mm) + \tfrac12 s^\top M\Gamma M^\top s", label="gaussian-log-mgf")
    d.step(target, r"the log-MGF of $\mathcal N(V(m+\Gamma Um),\ V\Gamma U\Gamma U^\top\Gamma V^\top)$: the law is this Gaussian",
           rhs_tex=r"s^\top \mathrm{mean} + \tfrac12 s^\top \mathrm{cov}\, s", label="identify")
    return d


def derivations() -> list[Derivation]:
    return derivation_moments() + [derivation_law(k) for k in (1, 2)]


# ------------------------------------------------------------------------------------ evidence


WRONG_FORMS = {
    "U^T Gamma U for U Gamma U^T": dict(cov=V * Gamma * U.T * Gamma * U * Gamma * V.T),
    "middle Gamma dropped": dict(cov=V * Gamma * U * U.T * Gamma * V.T),
    "mean: missing Gamma U m": dict(mean=V * m),
}
"""The planted wrong moments in SymPy (each replaces the mean or the covariance of the law)."""


def _moments(mean=PUSH_MEAN, cov=PUSH_COV):
    """A subject: the law's mean and covariance, SymPy forms evaluated by numpy at a point."""
    return lambda p: [_as_float(mean)(p), _as_float(cov)(p)]


def _args(p: dict) -> tuple:
    return p["K"], p["Q"], p["V"], p["m"], p["Gamma"]


def _as_moments(expr):
    """The adapter of the closed form (the covariance, or the mean of :data:`MEAN_VIEW`): a mutated form replaces
    the moment of its shape."""
    return _moments(mean=expr) if expr.shape[1] == 1 else _moments(cov=expr)


QUADRATURE_NODES = {1: 12, 2: 12, 3: 12, 4: 5, 5: 4}
"""Outer Gauss-Hermite nodes per coordinate at each d of the nested quadrature: exact for a field polynomial of
degree <= 5 (d <= 3), 4 (d = 4), 3 (d = 5) in every coordinate; the reference does not assume it is affine."""


def _quad_points(rng):
    return [dict(non_normal_point(dim, rng, 0.5), dim=dim) for dim in QUADRATURE_NODES]


NESTED = agreement(
    "nested-quadrature", subject=_moments(),
    reference=lambda p: list(nested_moments(p["K"], p["Q"], p["V"], p["m"], p["Gamma"], QUADRATURE_NODES[p["dim"]])),
    points=_quad_points, digits=11, kind="float64", reference_name="Gauss-Hermite over X of the definition of T[mu]",
    description="E[Y] and Cov(Y), Y = T[mu](X): Gauss-Hermite over X (12 nodes per coordinate for d <= 3, 5 at d = 4, "
                "4 at d = 5) with the definition (tilted mean by the trapezoid rule) at every node, random points "
                "d = 1..5 with K^T Q far from normal",
    mutants=[Mutant(k, _moments(**v)) for k, v in WRONG_FORMS.items()], adapter=_as_moments)

MC_POINT = {"K": np.array([[0.8, 0.3], [-0.4, 0.6]]), "Q": np.array([[0.7, -0.2], [0.3, 0.5]]),
            "V": np.array([[1.0, 0.4], [-0.3, 0.9]]), "m": np.array([0.6, 0.8]),
            "Gamma": np.array([[1.0, 0.3], [0.3, 0.6]]), "label": "d=2"}
MC_SAMPLES = 12000  # the fourth-moment ratio's standard error must resolve a 20% departure (a heavy tail)


def _mc_adapter(expr):
    return _mc_subject(mean=expr) if expr.shape[1] == 1 else _mc_subject(cov=expr)


def _mc_subject(mean=PUSH_MEAN, cov=PUSH_COV, kurtosis=1.0):
    """A subject of the Monte Carlo check: mean, covariance entries (i <= j) and the fourth-moment ratio."""
    def f(p):
        C = _as_float(cov)(p)
        return list(_as_float(mean)(p)) + [C[0, 0], C[0, 1], C[1, 1], kurtosis]
    return f


def _mc_estimate(p, rng):
    Y = pushforward_samples(p["K"], p["Q"], p["V"], p["m"], p["Gamma"], MC_SAMPLES, rng)
    return pushforward_moment_estimates(Y)


MONTE_CARLO = z_test(
    "monte-carlo", subject=_mc_subject(), estimate=_mc_estimate, points=[MC_POINT], resolve=0.2,
    description=f"{MC_SAMPLES} pushforward samples T[mu](X) (definition by quadrature): mean, covariance entries and "
                "the Gaussian fourth-moment ratio E[p^4]/(3 E[p^2]^2) = 1 along (1,1)/sqrt 2",
    mutants=[Mutant(k, _mc_subject(**v)) for k, v in WRONG_FORMS.items()]
    + [Mutant("heavy-tailed law (ratio 4/3)", _mc_subject(kurtosis=4 / 3))], adapter=_mc_adapter)


# ------------------------------------------------------------------------------------ user claims

_COV = "V*Gamma*K.T*Q*Gamma*Q.T*K*Gamma*V.T"
_M = "(V*Gamma*K.T*Q)"
CLAIM_DIMS, CLAIM_NODES, _SALT = (1, 2, 3), (4, 5), 1003
"""Claim points: dimensions; the outer Gauss-Hermite rules of the reference (both run, they must agree)."""


def claim_points(seed: int) -> tuple[ClaimPoint, ...]:
    """2 points per d in :data:`CLAIM_DIMS` (:func:`verify.gaussian.pushforward.non_normal_point`: K^T Q far from
    normal at d >= 2), each with the reference Cov T[mu](X) from the definition
    (:func:`verify.gaussian.pushforward.nested_moments_checked`, outer rules :data:`CLAIM_NODES`, 40 digits)."""
    with mp.workdps(DPS):
        return tuple(ClaimPoint(dim, {k: mp_matrix(p[k]) for k in ("K", "Q", "V", "m", "Gamma")},
                                nested_moments_checked(*_args(p), rules=CLAIM_NODES, dps=DPS)[1])
                     for dim, rng in ((d, np.random.default_rng([int(seed), _SALT, d])) for d in CLAIM_DIMS)
                     for p in [non_normal_point(dim, rng) for _ in range(2)])


COVERAGE = (f"d = {', '.join(map(str, CLAIM_DIMS))}; 2 points per d; K, Q entries N(0, 0.4^2), V, m N(0, 1), Gamma "
            "random SPD;\nK^T Q far from normal at d >= 2 (every transpose slip shows).\n"
            f"reference: Cov T[mu](X), X ~ N(m, Gamma), by the {CLAIM_NODES[1]}-node tensor Gauss-Hermite rule over X\n"
            "with T[mu](x) from its definition (whitened 1-D tilted means, verify.gaussian.pushforward.nested_moments_mp);\n"
            f"the {CLAIM_NODES[0]}-node rule must agree to 1e-35; never a closed form; 40 digits, tolerance 1e-20.")


COV_CLAIM = ClaimSpec(
    id="pushforward-covariance", statement_id="pushforward-law",
    domains={"K": "matrix", "Q": "matrix", "V": "matrix", "Gamma": "spd", "m": "vector"},
    summary="covariance of T[mu]_# mu: Cov T[N(m, Gamma)](X), X ~ N(m, Gamma)",
    symbols_help=symbols_help(SYMBOLS, CLAIM_DIMS, example=_COV,
                              notes=["Gamma is SPD; U = K^T Q is not a symbol: write K.T*Q; trace() is allowed."]),
    example=_COV, expected_shape=lambda d: (d, d),
    points=claim_points,
    coverage=COVERAGE,
    equivalents=(
        f"{_M}*Gamma*{_M}.T",                                           # M Gamma M^T, M = V Gamma U
        "V*Gamma*(Q.T*K).T*Gamma*(K.T*Q).T*Gamma*V.T",                  # U written as (Q^T K)^T
        f"({_COV}).T",                                                  # symmetric
        "V*Gamma.T*K.T*Q*Gamma.T*Q.T*K*Gamma.T*V.T",                    # Gamma symmetric
        "V*Gamma*K.T*Q*Gamma**2*Gamma**-1*Q.T*K*Gamma*V.T",             # inverse identity
        f"0.5*({_COV} + ({_COV}).T)", f"0.1*(10*{_COV})",              # exact decimals
    ),
    wrong_examples=(
        "V*Gamma*Q.T*K*Gamma*K.T*Q*Gamma*V.T",                          # U^T Gamma U for U Gamma U^T
        "V*Gamma*K.T*Q*Q.T*K*Gamma*V.T",                                # middle Gamma dropped
        "V*Gamma*K.T*Q*Gamma**2*Q.T*K*Gamma*V.T",                       # Gamma^2 for Gamma
        "V*Gamma*K.T*Q*Gamma*K.T*Q*Gamma*V.T",                          # U for U^T
        "V*Gamma*K*Q.T*Gamma*Q*K.T*Gamma*V.T",                          # K Q^T for K^T Q
        "V*Gamma*K.T*Q*Gamma*Q.T*K*Gamma*V",                            # V for V^T
        "V.T*Gamma*K.T*Q*Gamma*Q.T*K*Gamma*V",                          # V^T ... V
        f"2*{_COV}", f"0.5*{_COV}",                                     # factor 2, 1/2
        "V*Gamma*V.T",                                                  # the law of V X (field taken as V x)
        f"{_COV} + V*Gamma*V.T",                                        # cross terms of X and T(X) mixed in
        f"{_COV} + V*m*m.T*V.T",                                        # second moment, not covariance
        f"(1 + 1e-15)*({_COV})",                                        # relative offset
    ),
)

HYPOTHESES = [r"\mu = \mathcal N(m,\Gamma),\ \Gamma \succ 0",
              r"K, Q, V \in \mathbb R^{d\times d},\ U = K^\top Q"]

STATEMENT = Statement(
    id="pushforward-law", number="Lemma 2.1 (pushforward)", title="The pushforward of a Gaussian by its attention field",
    summary="T[μ]_# μ = N(V(m + ΓUm), VΓUΓUᵀΓVᵀ), U = KᵀQ",
    finding=Finding(kind="verified", summary="the pushforward T[μ]#μ of μ = N(m, Γ) is Gaussian, with mean V(m + Γ U m) and covariance V Γ U Γ Uᵀ Γ Vᵀ, U = Kᵀ Q"),
    source="Boursier & Boyer (arXiv 2512.11784), Lemma 2.1: the image of the Gaussian by its affine attention field",
    statement_tex=STATEMENT_TEX, hypotheses_tex=HYPOTHESES, derivations=derivations, checks=[NESTED, MONTE_CARLO],
    claims=[COV_CLAIM],
    closed_form=PUSH_COV, domains=COV_CLAIM.domains,
    notes_tex=[r"Transposes checked by derivation: $V\Gamma U^\top\Gamma U\Gamma V^\top$ differs whenever $U$ is not normal "
               r"(rejected by both checks)."],
    order=2.15,
)

MEAN_VIEW = dataclasses.replace(STATEMENT, closed_form=PUSH_MEAN)
"""The same statement with the law's mean as its closed form: the machine-generated mutants of the mean (the
statement's own closed form is the covariance, the quantity of its claim); not registered."""
