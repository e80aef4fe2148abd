r"""Softmax attention on a Gaussian mixture (Gabet, Boursier & Boyer, *Softmax Attention on Gaussian Mixtures*, 2026).

**Statement.**  For \mu = \sum_{k=1}^C \pi_k N(m_k, \Gamma_k) on R^d (\pi_k > 0, \sum \pi_k = 1, \Gamma_k \succ 0), any K, Q, V
and z, with a = K^T Q z,

    T^{K,Q,V}[\mu](z) = V \sum_k w_k(z) (m_k + \Gamma_k a),   w_k(z) = \pi_k e^{a^T m_k + a^T \Gamma_k a / 2} / \sum_j \pi_j e^{a^T m_j + a^T \Gamma_j a / 2}:

a softmax over the components of affine maps of z.  It is affine in z only when one component carries all the
weight, or the tilts a^T m_k + a^T \Gamma_k a/2 differ by a constant; otherwise it bends (``verify mixture``).

**Proof.**  T[\mu](z) = V E_{\mu_z}[z'] for d\mu_z \propto e^{a^T z'} d\mu.  (i) The tilt of a mixture is the mixture of
the tilted components with weights \propto \pi_k M_k(a), M_k(a) = E_{N(m_k,\Gamma_k)} e^{a^T z'} (linearity of the
integral); (ii) the tilted Gaussian N(m_k, \Gamma_k) is N(m_k + \Gamma_k a, \Gamma_k); (iii) M_k(a) = e^{a^T m_k + a^T
\Gamma_k a/2}.  Each of (i)-(iii) is a named assumption with its own check; SymPy checks the algebra of the chain for
C = 2 and C = 3 components.  The single-Gaussian case is Lemma 2.1 (``gaussian-limit``, C = 1).
"""

from __future__ import annotations

import functools

import mpmath
import numpy as np
import sympy as sp
from mpmath import mp

from verify.gaussian.mixture import (balanced_mixture_point, combined_tilted_mean, mixture_attention_enclosure,
                                     mixture_attention_quadrature)
from verify.gaussian import mixture as mixture_engine
from verify.kernel.catalogue import claim_formula, symbols_help
from verify.kernel.claim import ClaimPoint, ClaimSpec
from verify.kernel.compare import relative_error
from verify.kernel.derivation import Assumption, Derivation, by, equal_given, refuting_equal
from verify.kernel.evidence import Mutant, agreement, enclosure, rejection, scaled, z_test
from verify.kernel.verdict import Finding
from verify.kernel.statement import Statement
from verify.numerics.attention import softmax_estimates
from verify.numerics.closed_form import evaluate_closed_form, float_closed_form
from verify.numerics.measures import Discrete, Gaussian, GaussianMixture
from verify.numerics.quadrature import log_mgf, mp_matrix, tilted_mean
from verify.numerics.strategies import random_covariance, random_matrix

DPS, DIGITS_REQUIRED = 40, 30

# ------------------------------------------------------------------------------------ the statement

n = sp.Symbol("d", integer=True, positive=True)
K, Q, V = (sp.MatrixSymbol(s, n, n) for s in ("K", "Q", "V"))
z, a = sp.MatrixSymbol("z", n, 1), sp.MatrixSymbol("a", n, 1)
TILTED_MEAN = sp.MatrixSymbol(r"\mathbb{E}_{\mu_z}[z^{\prime}]", n, 1)


def components(C: int) -> tuple:
    """(\\pi_k, m_k, \\Gamma_k, M_k, E_k) for k = 1..C: weights, means, covariances, component MGFs M_k(a) and tilted
    component means E_k (the last two are placeholders the assumptions replace)."""
    pis = sp.symbols(f"pi_1:{C + 1}", positive=True)
    ms = [sp.MatrixSymbol(f"m_{k}", n, 1) for k in range(1, C + 1)]
    Gs = [sp.MatrixSymbol(f"Gamma_{k}", n, n) for k in range(1, C + 1)]
    Ms = sp.symbols(f"M_1:{C + 1}", positive=True)
    Es = [sp.MatrixSymbol(f"E_{k}", n, 1) for k in range(1, C + 1)]
    return pis, ms, Gs, Ms, Es


def log_mgf_expr(m, G, av, half=sp.S.Half) -> sp.Expr:
    """a^T m + a^T \\Gamma a / 2 as a scalar (traces of 1 x 1 products; ``half`` is the 1/2)."""
    return sp.Trace(av.T * m) + half * sp.Trace(av.T * G * av)


def softmax_mixture(C: int, av=None, weights=None, means=None) -> sp.MatrixExpr:
    """V \\sum_k \\pi_k W_k X_k / \\sum_k \\pi_k W_k with W_k = ``weights[k]`` (default e^{a^T m_k + a^T\\Gamma_k a/2})
    and X_k = ``means[k]`` (default m_k + \\Gamma_k a), a = ``av`` (default K^T Q z)."""
    pis, ms, Gs, _, _ = components(C)
    av = K.T * Q * z if av is None else av
    W = weights or [sp.exp(log_mgf_expr(ms[k], Gs[k], av)) for k in range(C)]
    X = means or [ms[k] + Gs[k] * av for k in range(C)]
    return V * sp.MatAdd(*[pis[k] * W[k] * X[k] for k in range(C)]) / sp.Add(*[pis[k] * W[k] for k in range(C)])


SOFTMAX_MIXTURE_TEX = (r"T^{K,Q,V}\Big[\sum_k \pi_k \mathcal N(m_k,\Gamma_k)\Big](z) = V \sum_k w_k(z)\,(m_k + \Gamma_k a),\quad "
                       r"w_k(z) = \frac{\pi_k e^{a^T m_k + \frac12 a^T\Gamma_k a}}{\sum_j \pi_j e^{a^T m_j + \frac12 a^T\Gamma_j a}},"
                       r"\quad a = K^T Q z")

# ------------------------------------------------------------------------------------ assumptions


def _discrete_mixture_points(rng) -> list:
    pts = []
    for dim in (1, 2):  # dyadic weights: the pooled weights pi_k w_{k,i} are exact in binary
        comps = [Discrete(rng.standard_normal((4, dim)), rng.permutation([0.125, 0.125, 0.25, 0.5])) for _ in range(3)]
        pts.append({"comps": comps, "pi": rng.permutation([0.25, 0.25, 0.5]), "a": 0.8 * rng.standard_normal(dim),
                    "label": f"3 discrete components d={dim}"})
    return pts


def _pooled(p: dict) -> Discrete:
    atoms = np.vstack([c.points for c in p["comps"]])
    return Discrete(atoms, np.concatenate([pk * c.weights for pk, c in zip(p["pi"], p["comps"])]))


def _components_combined(p: dict, reweight: bool = True) -> list:
    return combined_tilted_mean(p["comps"], p["pi"], p["a"], DPS, reweight=reweight)


def mixture_tilt_assumption(C: int) -> Assumption:
    r"""E_{\mu_z}[z'] = \sum_k \pi_k M_k E_k / \sum_k \pi_k M_k for \mu = \sum_k \pi_k \mu_k (any \mu_k): the tilted
    mixture is the mixture of the tilted components, reweighted by their MGFs.  Evidence: mixtures of discrete
    components, the tilted mean of the pooled measure against the combination of the components' own."""
    pis, _, _, Ms, Es = components(C)
    check = agreement(
        "mixture-tilt", subject=_components_combined,
        reference=lambda p: tilted_mean(_pooled(p), np.eye(len(p["a"])), np.eye(len(p["a"])), p["a"], DPS),
        points=_discrete_mixture_points, digits=DIGITS_REQUIRED, dps=DPS, kind="quadrature",
        reference_name="the tilted mean of the pooled mixture",
        description="tilted mean of a 3-component discrete mixture vs the MGF-reweighted tilted component means, d = 1, 2",
        mutants=[Mutant("untilted component weights pi_k", lambda p: _components_combined(p, reweight=False))])
    rhs = sp.MatAdd(*[pis[k] * Ms[k] * Es[k] for k in range(C)]) / sp.Add(*[pis[k] * Ms[k] for k in range(C)])
    return Assumption("mixture-tilt", r"\mathbb E_{\mu_z}[z'] = \frac{\sum_k \pi_k M_k(a) \mathbb E_{\mu_{k,z}}[z']}{\sum_k \pi_k M_k(a)}",
                      {TILTED_MEAN: rhs}, check)


def _gaussian_points(rng) -> list:
    return [{"a": 0.6 * rng.standard_normal(dim), "m": rng.standard_normal(dim), "Gamma": random_covariance(dim, rng),
             "dim": dim} for dim in (1, 2, 3)]


M1, G1 = sp.MatrixSymbol("m", n, 1), sp.MatrixSymbol("Gamma", n, n)
TILTED_GAUSSIAN_MEAN, GAUSSIAN_LOG_MGF = M1 + G1 * a, a.T * M1 + a.T * G1 * a / 2
r"""One component's m + \Gamma a and a^T m + a^T\Gamma a/2: the checks evaluate these SymPy expressions."""


def _expr_at(expr):
    return lambda p: evaluate_closed_form(expr, (a, M1, G1), {"a": p["a"], "m": p["m"], "Gamma": p["Gamma"]}, DPS)


def _one_gaussian_tilted_mean(p: dict):  # the definition: one-component mixture, K = Q = V = I, z = a
    return mixture_attention_quadrature(*[np.eye(len(p["a"]))] * 3, GaussianMixture([1.0], [p["m"]], [p["Gamma"]]), p["a"], dps=DPS)


def _tilted_mean_rule(C: int) -> dict:
    _, ms, Gs, _, Es = components(C)
    return {Es[k]: ms[k] + Gs[k] * a for k in range(C)}


def gaussian_tilt_assumption(C: int) -> Assumption:
    r"""The tilt e^{a^T z'} of N(m, \Gamma) is N(m + \Gamma a, \Gamma): E_k = m_k + \Gamma_k a.  Evidence: 40-digit
    Gauss-Hermite of the tilted mean (definition), d = 1, 2, 3."""
    check = agreement(
        "gaussian-tilted-mean", subject=_expr_at(TILTED_GAUSSIAN_MEAN), reference=_one_gaussian_tilted_mean,
        points=_gaussian_points, digits=DIGITS_REQUIRED, dps=DPS, kind="quadrature",
        reference_name="the quadrature tilted mean",
        description="tilted mean of N(m, Gamma) by 40-digit tensor Gauss-Hermite vs m + Gamma a, d = 1, 2, 3",
        mutants=[Mutant("Gamma inverted", _expr_at(M1 + G1.I * a)), Mutant("untilted mean m", _expr_at(M1 + 0 * G1 * a))])
    return Assumption("gaussian-tilted-mean", r"\mathbb E_{\mu_{k,z}}[z'] = m_k + \Gamma_k a", _tilted_mean_rule(C), check)


def gaussian_mgf_assumption(C: int) -> Assumption:
    r"""M_k(a) = E e^{a^T X_k} = e^{a^T m_k + a^T \Gamma_k a / 2}, X_k ~ N(m_k, \Gamma_k).  Evidence: the log of the
    40-digit Gauss-Hermite MGF (definition), d = 1, 2, 3."""
    _, ms, Gs, Ms, _ = components(C)
    check = agreement(
        "gaussian-mgf", subject=_expr_at(GAUSSIAN_LOG_MGF), reference=lambda p: log_mgf(Gaussian(p["m"], p["Gamma"]), p["a"], DPS),
        points=_gaussian_points, digits=DIGITS_REQUIRED, dps=DPS, kind="quadrature", reference_name="log of the quadrature MGF",
        description="log E e^{a^T X} by 40-digit Gauss-Hermite vs a^T m + a^T Gamma a / 2, d = 1, 2, 3",
        mutants=[Mutant("missing 1/2", _expr_at(a.T * M1 + a.T * G1 * a)), Mutant("no quadratic term", _expr_at(a.T * M1))])
    return Assumption("gaussian-mgf", r"M_k(a) = e^{a^T m_k + \frac12 a^T \Gamma_k a}",
                      {Ms[k]: sp.exp(log_mgf_expr(ms[k], Gs[k], a)) for k in range(C)}, check)


# ------------------------------------------------------------------------------------ derivation

EXPLICIT_FIRST = refuting_equal()
"""Steps are compared at explicit d = 1, 2 first (a false step is refuted there), then as canonical forms."""


ASSUMPTIONS = {C: (mixture_tilt_assumption(C), gaussian_tilt_assumption(C), gaussian_mgf_assumption(C)) for C in (2, 3)}
"""The three facts the chain uses, for C = 2 and 3 components (one object each, shared by the derivations)."""


def derivation(C: int) -> Derivation:
    """General d, C components: tilt of the mixture -> tilted components -> their MGFs -> a = K^T Q z."""
    pis, ms, Gs, Ms, Es = components(C)
    tilt, gauss_tilt, mgf = ASSUMPTIONS[C]
    d = Derivation(f"mixture of {C} Gaussians, general $d$", V * TILTED_MEAN,
                   start_tex=r"T^{K,Q,V}[\mu](z) = V\, \mathbb E_{\mu_z}[z'],\ d\mu_z \propto e^{a^T z'} d\mu,\ a = K^T Q z",
                   conclusion=softmax_mixture(C),
                   conclusion_tex=r"V \sum_k w_k(z)(m_k + \Gamma_k a),\ w_k \propto \pi_k e^{a^T m_k + \frac12 a^T\Gamma_k a}")
    d.step(softmax_mixture(C, a, list(Ms), list(Es)), "the tilted mixture is the mixture of the tilted components, weights $\\propto \\pi_k M_k(a)$",
           check=by(tilt, then=EXPLICIT_FIRST), rhs_tex=r"V \frac{\sum_k \pi_k M_k(a) \mathbb E_{\mu_{k,z}}[z']}{\sum_k \pi_k M_k(a)}", label="mixture-tilt")
    d.step(softmax_mixture(C, a, list(Ms)), r"the tilted $\mathcal N(m_k,\Gamma_k)$ is $\mathcal N(m_k + \Gamma_k a, \Gamma_k)$",
           check=by(gauss_tilt, then=EXPLICIT_FIRST), rhs_tex=r"V \frac{\sum_k \pi_k M_k(a) (m_k + \Gamma_k a)}{\sum_k \pi_k M_k(a)}", label="gaussian-tilt")
    d.step(softmax_mixture(C, a), r"Gaussian MGF $M_k(a) = e^{a^T m_k + \frac12 a^T\Gamma_k a}$", check=by(mgf, then=EXPLICIT_FIRST),
           rhs_tex=r"V \frac{\sum_k \pi_k e^{a^T m_k + \frac12 a^T\Gamma_k a} (m_k + \Gamma_k a)}{\sum_k \pi_k e^{a^T m_k + \frac12 a^T\Gamma_k a}}",
           label="gaussian-mgf")
    d.step(softmax_mixture(C), r"substitute $a = K^T Q z$", check=equal_given({a: K.T * Q * z}, "a = K^T Q z"),
           rhs_tex=r"V \sum_k w_k(z) (m_k + \Gamma_k K^T Q z)", label="substitute-a")
    return d


def derivations() -> list[Derivation]:
    return [derivation(2), derivation(3)]


# ------------------------------------------------------------------------------------ wrong forms (written once)

PIS, MS, GS, _, _ = components(2)
SYMBOLS = (K, Q, V, z, *PIS, *MS, *GS)
"""The symbols of the two-component closed form, in the order the evaluators take them."""
TRUE_FORM = softmax_mixture(2)
WRONG_FORMS = {
    "weights without 1/2 a^T Gamma a": softmax_mixture(2, weights=[sp.exp(log_mgf_expr(MS[k], GS[k], K.T * Q * z, 1))
                                                                   for k in range(2)]),
    "weights without the quadratic term": softmax_mixture(2, weights=[sp.exp(sp.Trace(z.T * Q.T * K * x)) for x in MS]),
    "untilted means m_k": softmax_mixture(2, means=list(MS)),
    "K for K^T": softmax_mixture(2, av=K * Q * z),
    "Gamma inverted": TRUE_FORM.xreplace({G: G.I for G in GS}),
}
"""The planted wrong forms in SymPy; each check and the claim catalogue take them through one adapter each."""
_MEAN = PIS[0] * MS[0] + PIS[1] * MS[1]
MOMENT_MATCHED = V * _MEAN + V * (PIS[0] * (GS[0] + MS[0] * MS[0].T) + PIS[1] * (GS[1] + MS[1] * MS[1].T)
                                  - _MEAN * _MEAN.T) * K.T * Q * z
"""Lemma 2.1 applied to the Gaussian with the mixture's mean and covariance: affine in z, wrong for a mixture."""


def _values(p: dict) -> dict:
    """The symbols' values at a point (keys K, Q, V, z and ``mu``, a two-component GaussianMixture)."""
    mu = p["mu"]
    return dict(zip([s.name for s in SYMBOLS], [p["K"], p["Q"], p["V"], p["z"], *mu.weights, *mu.means, *mu.covs]))


def _as_closed_form(expr, dps: int = DPS):
    """A subject: ``expr`` evaluated in ``dps``-digit mpmath at a point."""
    return lambda p: evaluate_closed_form(expr, SYMBOLS, _values(p), dps)


def _as_float(expr):
    """A float64 subject: ``expr`` evaluated by numpy at a point."""
    return lambda p, f=float_closed_form(expr, SYMBOLS): f(_values(p))


# ------------------------------------------------------------------------------------ evidence


def _mixture_point(dim: int, rng, scale: float = 0.5) -> dict:
    pi1 = float(rng.uniform(0.25, 0.75))
    mu = GaussianMixture([pi1, 1 - pi1], rng.standard_normal((2, dim)), np.stack([random_covariance(dim, rng) for _ in range(2)]))
    return {"K": random_matrix(dim, rng, scale), "Q": random_matrix(dim, rng, scale), "V": random_matrix(dim, rng),
            "z": rng.standard_normal(dim), "mu": mu, "dim": dim}


def _points(dims, per_dim: int):
    return lambda rng: [_mixture_point(dim, rng) for dim in dims for _ in range(per_dim)]


QUADRATURE_DIMS = (1, 2, 3, 4, 5)
"""Dimensions of the quadrature points: to d = 5, above the degree 4 of a trace polynomial vanishing at d <= 3."""


def _balanced_points(dims, per_dim: int):
    """Random two-component points whose components both carry tilted mass >= 0.05 (whitened tilt <= 3), so a wrong
    term of either component shows (:func:`verify.gaussian.mixture.balanced_mixture_point`)."""

    def make(rng):
        out = []
        for dim in dims:
            for _ in range(per_dim):
                K_, Q_, V_, mu, z_, _ = balanced_mixture_point(dim, rng, max_tilt=3.0, min_mass=0.05, dps=15)
                out.append({"K": K_, "Q": Q_, "V": V_, "z": z_, "mu": mu, "dim": dim})
        return out

    return make


def _args(p: dict) -> tuple:
    return p["K"], p["Q"], p["V"], p["mu"], p["z"]


QUADRATURE = agreement(
    "quadrature", subject=_as_closed_form(TRUE_FORM), reference=lambda p: mixture_attention_quadrature(*_args(p), dps=DPS),
    points=_balanced_points(QUADRATURE_DIMS, 2), digits=DIGITS_REQUIRED, dps=DPS, kind="quadrature",
    reference_name="40-digit tensor Gauss-Hermite of the definition",
    description="40-digit tensor Gauss-Hermite of the definition (per component) vs the closed form, 2 random "
                "2-component mixtures (both components with tilted mass >= 0.05) for each d = 1..5",
    mutants=[Mutant(k, _as_closed_form(v)) for k, v in WRONG_FORMS.items()], adapter=_as_closed_form)

CERTIFIED = enclosure(
    "certified", subject=_as_closed_form(TRUE_FORM, 80), enclose=lambda p: mixture_attention_enclosure(*_args(p), prec=200),
    points=_points((1,), 4), digits=25, dps=80,
    description="d = 1: Arb balls of the definition (certified integrals + tail bounds per component) contain the closed form, radius <= 1e-25",
    mutants=[Mutant(k, _as_closed_form(WRONG_FORMS[k], 80)) for k in ("weights without 1/2 a^T Gamma a", "untilted means m_k")]
    + [Mutant("1e-30 relative offset", scaled(_as_closed_form(TRUE_FORM, 80), "1.000000000000000000000000000001"))],
    adapter=lambda expr: _as_closed_form(expr, 80))

# Monte Carlo: fixed points with two well-separated components, both carrying tilted mass (T visibly non-affine)
MC_D1 = {"K": np.eye(1), "Q": np.eye(1), "V": np.eye(1), "z": np.array([0.4]), "dim": 1, "label": "d=1 separated",
         "mu": GaussianMixture([0.4, 0.6], [[-1.5], [1.0]], [[[0.3]], [[0.5]]])}
MC_D2 = {"K": np.array([[0.8, 0.3], [-0.4, 0.6]]), "Q": np.array([[0.7, -0.2], [0.3, 0.5]]),
         "V": np.array([[1.0, 1.2], [-0.3, 0.9]]), "z": np.array([1.0, -0.5]), "dim": 2, "label": "d=2",
         "mu": GaussianMixture([0.5, 0.5], [[1.5, -1.0], [-1.2, 1.0]], [[[0.5, 0.2], [0.2, 0.4]], [[0.3, -0.1], [-0.1, 0.6]]])}
MC_BATCHES = 40


def _softmax_estimates(L: int, prompts: int):
    """Batch means of finite-prompt softmax attention (L tokens from the mixture), per coordinate."""
    return lambda p, rng: softmax_estimates(p["mu"], p["K"], p["Q"], p["V"], p["z"], L, prompts, rng, MC_BATCHES)


def _mc_mutants() -> list:
    return [Mutant("1% too large", scaled(_as_closed_form(TRUE_FORM, 20), 1.01))] + [
        Mutant(k, _as_closed_form(WRONG_FORMS[k], 20)) for k in ("untilted means m_k", "weights without 1/2 a^T Gamma a")]


MONTE_CARLO = z_test(
    "monte-carlo", subject=_as_closed_form(TRUE_FORM, 20), estimate=_softmax_estimates(8000, 200), points=[MC_D1], resolve=0.01,
    description="finite-prompt softmax attention (L = 8000, 200 prompts in 40 batch means) on a fixed d = 1 mixture "
                "(tilted masses 0.19/0.81) vs the closed form; must resolve a 1% error",
    mutants=_mc_mutants(), adapter=lambda expr: _as_closed_form(expr, 20))

MONTE_CARLO_D2 = z_test(
    "monte-carlo-d2", subject=_as_closed_form(TRUE_FORM, 20), estimate=_softmax_estimates(10000, 400), points=[MC_D2], resolve=0.01,
    slow=True, mutants=_mc_mutants(), adapter=lambda expr: _as_closed_form(expr, 20),
    description="finite-prompt softmax attention (L = 1e4, 400 prompts in 40 batch means) on a fixed d = 2 mixture "
                "(tilted masses 0.77/0.23) vs the closed form; must resolve a 1% error")


NOT_MOMENT_MATCHED = rejection(
    "moment-matched-gaussian-rejected", subject=_as_closed_form(MOMENT_MATCHED, 20),
    discrepancy=lambda p, reference, subject: float(relative_error(subject(p), reference)),
    prepare=lambda p, rng: mpmath.matrix(mixture_attention_quadrature(*_args(p), dps=20)), points=[MC_D1, MC_D2],
    threshold=0.05, unit="relative gap", what="relative gap of the moment-matched affine form to the definition",
    description="Lemma 2.1 with the mixture's mean and covariance (an affine map of z) misses T[mu](z) by >= 5%",
    mutants=[Mutant("the mixture closed form", _as_closed_form(TRUE_FORM, 20))])

NUMPY_KERNEL = agreement(
    "numpy-kernel", subject=lambda p: mixture_engine.mixture_limit(*_args(p)), reference=_as_closed_form(TRUE_FORM),
    points=_points(QUADRATURE_DIMS, 2), digits=13, kind="float64", reference_name="the SymPy closed form at 40 digits",
    description="the float64 kernel verify.gaussian.mixture.mixture_limit (log-sum-exp, used by verify mixture) vs the "
                "statement's SymPy closed form, 2 random 2-component mixtures for each d = 1..5",
    mutants=[Mutant(f"kernel with {k}", _as_float(WRONG_FORMS[k]))
             for k in ("untilted means m_k", "K for K^T", "weights without 1/2 a^T Gamma a")])

# ------------------------------------------------------------------------------- user claims

CLAIM_NAMES = {**{s: sp.Symbol(f"pi{k}") for k, s in enumerate(PIS, 1)},
               **{s: sp.MatrixSymbol(f"m{k}", n, 1) for k, s in enumerate(MS, 1)},
               **{s: sp.MatrixSymbol(f"Gamma{k}", n, n) for k, s in enumerate(GS, 1)}}
"""The claim grammar's names of the symbols (m_1 -> m1, ...)."""
CLAIM_DIMS, CLAIM_MAX_TILT, CLAIM_MIN_POSTERIOR = (1, 2, 3), 3.0, 0.05
"""Dimensions of the claim points; their largest whitened tilt; their smallest tilted component mass."""
_SALT = 1010


_claim = functools.partial(claim_formula, names=CLAIM_NAMES)
def _claim_point(drawn: tuple, shared: bool) -> ClaimPoint:
    K_, Q_, V_, mu, z_, ref = drawn
    values = {str(CLAIM_NAMES.get(s, s)): mp.mpf(float(v)) if s in PIS else mp_matrix(v)
              for s, v in zip(SYMBOLS, [K_, Q_, V_, z_, *mu.weights, *mu.means, *mu.covs])}
    return ClaimPoint(mu.dim, values, mpmath.matrix(ref), frozenset({"shared-covariance"}) if shared else frozenset())


def claim_points(seed: int) -> tuple[ClaimPoint, ...]:
    r"""Per d in :data:`CLAIM_DIMS`, two mixtures with two generic covariances and one with a shared covariance (case
    ``"shared-covariance"``), drawn by :func:`verify.gaussian.mixture.balanced_mixture_point` (whitened tilt <=
    :data:`CLAIM_MAX_TILT`, tilted component masses >= :data:`CLAIM_MIN_POSTERIOR`); reference: the definition by
    :func:`verify.gaussian.mixture.mixture_attention_quadrature` (40 digits)."""
    with mp.workdps(DPS):
        return tuple(_claim_point(balanced_mixture_point(dim, rng, shared=k == 2, max_tilt=CLAIM_MAX_TILT,
                                                         min_mass=CLAIM_MIN_POSTERIOR, dps=DPS), k == 2)
                     for dim, rng in ((d, np.random.default_rng([int(seed), _SALT, d])) for d in CLAIM_DIMS)
                     for k in range(3))


COVERAGE = (f"d = {', '.join(map(str, CLAIM_DIMS))}; per d two 2-component mixtures with generic covariances and one "
            f"with a\nshared covariance (case shared-covariance); pi1 ~ U(0.2, 0.8), pi2 = 1 - pi1; whitened tilt "
            f"<= {CLAIM_MAX_TILT:g};\nevery tilted component mass >= {CLAIM_MIN_POSTERIOR:g}.  Reference: the "
            "definition by the d-dimensional tensor\nGauss-Hermite rule per component "
            "(verify.gaussian.mixture.mixture_attention_quadrature), never a closed form;\n40 digits, tolerance 1e-20.")

_S = {k: f"z.T*Q.T*K*m{k} + z.T*Q.T*K*Gamma{k}*K.T*Q*z/2" for k in (1, 2)}
_X = {k: f"(m{k} + Gamma{k}*K.T*Q*z)" for k in (1, 2)}
TRUE = f"V*(pi1*exp({_S[1]})*{_X[1]} + pi2*exp({_S[2]})*{_X[2]})/(pi1*exp({_S[1]}) + pi2*exp({_S[2]}))"
"""The closed form as a user writes it in the claim grammar (the claim's example)."""

MIXTURE_CLAIM = ClaimSpec(
    id="gaussian-mixture-limit",
    statement_id="gaussian-mixture-limit",
    domains={"K": "matrix", "Q": "matrix", "V": "matrix", "z": "vector", "m1": "vector", "m2": "vector", "Gamma1": "spd", "Gamma2": "spd", "pi1": "positive", "pi2": "positive"}, hypotheses={"shared-covariance": {"Gamma2": "Gamma1"}},
    summary="closed form of T[pi1 N(m1, Gamma1) + pi2 N(m2, Gamma2)](z), softmax attention on a 2-component mixture",
    symbols_help=symbols_help(
        [K, Q, V, *(CLAIM_NAMES[G] for G in GS), *(CLAIM_NAMES[x] for x in MS), z, *(CLAIM_NAMES[w] for w in PIS)],
        CLAIM_DIMS, notes=["pi1 + pi2 = 1; exp(...) and log(...) take scalars (a 1 x 1 product such as z.T*Q.T*K*m1 "
                           "is one);", "s_k below stands for z.T*Q.T*K*m_k + z.T*Q.T*K*Gamma_k*K.T*Q*z/2, written out."],
        example="V*(pi1*exp(s1)*(m1 + Gamma1*K.T*Q*z) + pi2*exp(s2)*(m2 + Gamma2*K.T*Q*z))/(pi1*exp(s1) + pi2*exp(s2))"),
    example=TRUE,
    expected_shape=lambda d: (d, 1),
    points=claim_points,
    assumptions={"shared-covariance": "Gamma1 = Gamma2 (the quadratic terms of the weights cancel)"},
    coverage=COVERAGE,
    equivalents=(
        f"(pi1*exp({_S[1]})*V*{_X[1]} + pi2*exp({_S[2]})*V*{_X[2]})/(pi1*exp({_S[1]}) + pi2*exp({_S[2]}))",  # V inside
        f"V*{_X[2]} + V*({_X[1]} - {_X[2]})/(1 + pi2/pi1*exp({_S[2]} - ({_S[1]})))",  # logistic weight
        f"V*(exp(log(pi1) + {_S[1]})*{_X[1]} + exp(log(pi2) + {_S[2]})*{_X[2]})/(exp(log(pi1) + {_S[1]}) + exp(log(pi2) + {_S[2]}))",
        TRUE.replace("K.T*Q*z", "(z.T*Q.T*K).T"),                          # a written as a transposed row
        f"V*(pi1*{_X[1]} + pi2*exp({_S[2]} - ({_S[1]}))*{_X[2]})/(pi1 + pi2*exp({_S[2]} - ({_S[1]})))",  # divided by e^{s1}
        f"0.5*(2*{TRUE})",
        TRUE.replace("/2)", "*0.5)"),                                      # exact decimal 1/2
        _claim(TRUE_FORM),                                                 # the SymPy conclusion, printed
    ),
    wrong_examples=tuple(_claim(v) for v in WRONG_FORMS.values()) + (
        _claim(MOMENT_MATCHED),                                             # Lemma 2.1 with matched moments
        "V*(pi1*m1 + pi2*m2) + V*(pi1*Gamma1 + pi2*Gamma2)*K.T*Q*z",        # affine: untilted weights
        f"V*(pi1*{_X[1]} + pi2*{_X[2]})",                                   # untilted weights, tilted means
        f"V*(pi1*exp({_S[2]})*{_X[1]} + pi2*exp({_S[1]})*{_X[2]})/(pi1*exp({_S[2]}) + pi2*exp({_S[1]}))",  # weights swapped
        f"V*(pi1*exp(-({_S[1]}))*{_X[1]} + pi2*exp(-({_S[2]}))*{_X[2]})/(pi1*exp(-({_S[1]})) + pi2*exp(-({_S[2]})))",  # sign
        "V*(pi1*(Gamma1 + m1*m1.T) + pi2*(Gamma2 + m2*m2.T))*K.T*Q*z",      # linear attention
        f"(1 + 1e-12)*({TRUE})",                                            # relative offset
        f"{TRUE} + 1e-15*V*m1",
    ),
    conditional_examples=((_claim(WRONG_FORMS["weights without the quadratic term"]), ("shared-covariance",)),),
)

# ------------------------------------------------------------------------------------- statements

MIXTURE = Statement(
    id="gaussian-mixture-limit",
    number="Mixture lemma",
    title="Softmax attention on a Gaussian mixture is a softmax over components of affine maps",
    summary="T[Σπ_k N(m_k,Γ_k)](z) = V Σ w_k(z)(m_k + Γ_k K^T Q z), w_k ∝ π_k e^{a^T m_k + a^T Γ_k a/2} (Gabet, Boursier & Boyer 2026)",
    source="Gabet, Boursier & Boyer, Softmax Attention on Gaussian Mixtures (2026); extends Lemma 2.1",
    statement_tex=SOFTMAX_MIXTURE_TEX,
    hypotheses_tex=[r"\mu = \sum_{k=1}^C \pi_k \mathcal N(m_k, \Gamma_k) \text{ on } \mathbb R^d,\ \pi_k > 0,\ \sum_k \pi_k = 1,\ "
                    r"\Gamma_k \succ 0", r"K, Q, V \in \mathbb R^{d\times d} \text{ arbitrary},\ z \in \mathbb R^d,\ a = K^T Q z"],
    derivations=derivations,
    checks=[QUADRATURE, CERTIFIED, MONTE_CARLO, MONTE_CARLO_D2, NOT_MOMENT_MATCHED, NUMPY_KERNEL],
    claims=[MIXTURE_CLAIM],
    closed_form=TRUE_FORM, formula_names={s.name: CLAIM_NAMES[s].name for s in (*PIS, *MS, *GS)},
    domains={"K": "matrix", "Q": "matrix", "V": "matrix", "z": "vector", **{s.name: "positive" for s in PIS},
             **{s.name: "vector" for s in MS}, **{s.name: "spd" for s in GS}},
    finding=Finding(kind="verified", summary="attention on a Gaussian mixture is the softmax-weighted combination V Σ w_k(z)(m_k + Γ_k Kᵀ Q z) of its components' affine maps; it is not affine in z"),
    notes_tex=[
        r"With $C = 1$ this is Lemma 2.1.  With a shared covariance the quadratic terms cancel in $w_k$, which become a "
        r"softmax of the affine scores $\log\pi_k + a^T m_k$.",
        r"Not affine in $z$: for $\mu = \frac12\mathcal N(-\delta, s^2) + \frac12\mathcal N(\delta, s^2)$, $d = 1$, "
        r"$K = Q = V = 1$, $T(z) = s^2 z + \delta\tanh(\delta z)$ (\texttt{verify mixture}).",
    ],
    order=2.15,
)

STATEMENTS = [MIXTURE]
