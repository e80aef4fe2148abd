r"""Props 3.1 and 3.4 (arXiv 2512.11784) taken literally at L = 1: the bound fails there.

**Statement (prop-3-1-literal).**  Props 3.1 and 3.4 bound E\|T[\hat\mu_L] - T[\mu]\|^2_{L^2(\nu)} (and the gradient
errors) by c_1 \sigma^6 \ln L / L^{c_2/\sigma^2} for every L >= 1.  At L = 1 the right side is 0 for every c_1, c_2,
while the left side is positive: witness d = 1, \mu = \nu = N(0, 1), K = 0 (U = 0), Q = V = M = \sigma = 1, where
T[\hat\mu_1](z) = z_1 and T[\mu] = 0, so the left side is E z_1^2 = 1.  Repaired statement: L >= 2.

**Evidence.**  Both sides at L = 1 derived symbolically; the left side measured by Monte Carlo of the definition
(:func:`verify.concentration.montecarlo.concentration_error`) against 1.

**The instrument.**  The left sides of Props 3.1 and 3.4 that ``verify audit`` reports (E\|T[\hat\mu_L] - T[\mu]\|^2,
the errors of \nabla_V T and \nabla_U T, and linear attention's, for Gaussian, uniform-cube, Rademacher and
mixture prompts) come from that Monte Carlo engine.  Two checks take it as their subject: on its own recorded draws
(queries and tokens, several chunks, d = 2 and 3, U and V generic) every figure it reports -- the mean, the
block-means standard error, the ESS and the top-1% share -- is recomputed by another route
(:func:`verify.concentration.references.estimate_from_draws`: the whole prompt at once, T[\mu] and the tilted
covariance by quadrature of each law, the gradients as explicit Jacobian tensors) and must agree to 12 digits, so a
1% error in any per-query value shows; and its draws must have each law's moments (mean, second moments, the
coordinates' fourth moments, by quadrature of the law) and the queries N(0, s^2 I)'s.  The exact linear-attention
error the audit sets beside it, \sigma^4 (\|U\|_F^2 \|V\|_F^2 + \|VU\|_F^2)/L, is checked against the exact quadrature of
its definition.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from verify.kernel.verdict import Finding
from verify.kernel.statement import Statement
from verify.kernel.derivation import Derivation, maps
from verify.kernel.evidence import Mutant, agreement, bound, digits_between, z_test
from verify.concentration import montecarlo as engine
from verify.concentration.montecarlo import concentration_error
from verify.concentration.references import estimate_from_draws, law_moments, linear_error_quadrature
from verify.numerics.measures import Gaussian, GaussianMixture, Rademacher, UniformCube, isotropic_gaussian
from verify.numerics.montecarlo import Estimate, mean_estimate

Z1 = sp.Symbol("z_1", real=True)
c1, c2 = sp.symbols("c_1 c_2", positive=True)
L = sp.Symbol("L", positive=True)
sigma = sp.Symbol("sigma", positive=True)


def derivation_witness() -> Derivation:
    """d = 1, \\mu = \\nu = N(0,1), K = 0, V = 1: T[\\hat\\mu_1](z) = z_1, T[\\mu] = 0, so E|.|^2 = E z_1^2 = 1."""
    d = Derivation("left side at L = 1", (Z1 - 0) ** 2, start_tex=r"\|T[\hat\mu_1](z) - T[\mu](z)\|^2 = (z_1 - 0)^2",
                   conclusion=sp.S(1))
    d.step(sp.S(1), r"$\mathbb E z_1^2 = 1$ for $z_1 \sim \mathcal N(0,1)$",
           check=maps(r"$\mathbb E_{z_1}$", lambda e: sp.expand(e).subs(Z1**2, 1)))
    return d


def derivation_right() -> Derivation:
    d = Derivation("right side at L = 1", c1 * sigma**6 * sp.log(L) / L ** (c2 / sigma**2), conclusion=sp.S(0),
                   start_tex=r"c_1 \sigma^6 \ln L / L^{c_2/\sigma^2}")
    d.step(sp.S(0), r"$\ln 1 = 0$ for every $c_1, c_2$", check=maps("$L = 1$", lambda e: e.subs(L, 1)))
    return d


def witness_estimate(point: dict, rng: np.random.Generator, n_prompts: int = 10000):
    """Monte Carlo of Prop 3.1's left side at the L = 1 witness (d = 1, mu = nu = N(0, 1), U = 0, V = 1)."""
    seed = np.random.SeedSequence(int(rng.integers(2**63)))
    return concentration_error(isotropic_gaussian(1.0, 1), np.zeros((1, 1)), np.ones((1, 1)), 1, n_prompts, seed)


# ------------------------------------------------------------------------------------------ the instrument

_U2, _V2 = np.array([[0.7, -0.3], [0.4, 0.5]]), np.array([[1.0, 0.3], [-0.2, 0.6]])
_U3 = np.array([[0.5, -0.2, 0.1], [0.3, 0.4, -0.3], [0.0, 0.2, 0.6]])
_V3 = np.array([[1.0, 0.2, 0.0], [-0.3, 0.8, 0.1], [0.2, 0.0, 0.5]])
LAWS = {
    "N(0, I_2) (the audit's Gaussian)": (isotropic_gaussian(1.0, 2), _U2, _V2),
    "N(m, Gamma), Gamma not diagonal": (Gaussian([0.3, -0.2], [[1.0, 0.4], [0.4, 0.6]]), _U2, _V2),
    "uniform cube, sigma = 1.2": (UniformCube(2, 1.2), _U2, _V2),
    "Rademacher d = 3, sigma = 0.9": (Rademacher(3, 0.9), _U3, _V3),
    "symmetric Gaussian pair": (GaussianMixture(2, 1.1, 0.5, [1.0, 0.4]), _U2, _V2),
    "two-component Gaussian mixture": (GaussianMixture([0.3, 0.7], [[1.0, -0.5], [0.4, 0.9]],
                                                       [[[0.5, 0.1], [0.1, 0.3]], [[0.2, -0.05], [-0.05, 0.6]]]), _U2, _V2),
}
"""The laws of the audit (Gaussian, cube, coins, mixture) and the engine's other routes (a general Gaussian, a mixture
with any components), each with a generic U and V (U not a multiple of an orthogonal matrix)."""
QUANTITIES = ("output", "grad_V", "grad_U", "linear")


def _trace_points() -> list:
    pts = []
    for name, (mu, U, V) in LAWS.items():
        scale = 1.5 if name.startswith("N(m") else 1.0
        for qty in QUANTITIES:
            pts.append({"measure": mu, "U": U, "V": V, "L": 5, "n_prompts": 40, "queries": 3, "chunk": 2,
                        "query_scale": scale, "quantity": qty, "label": f"{qty}, {name}, L=5 in chunks of 2"
                        + (", queries 1.5x wider" if scale != 1 else "")})
    mu, U, V = LAWS["N(0, I_2) (the audit's Gaussian)"]
    pts.append({"measure": mu, "U": U, "V": V, "L": 60, "n_prompts": 40, "queries": 2, "chunk": None,
                "query_scale": 1.0, "quantity": "output", "label": "output, N(0, I_2), L=60 in one chunk"})
    return pts


TRACE_POINTS = _trace_points()


def engine_run(point: dict, seed, record=None):
    """The subject: the engine's estimate at the point (the audit's functions, looked up when called)."""
    args = (point["measure"], point["U"], point["V"], point["L"], point["n_prompts"], seed)
    kw = dict(chunk=point["chunk"], queries=point["queries"], query_scale=point["query_scale"], record=record)
    if point["quantity"] == "output":
        return engine.concentration_error(*args, **kw)
    if point["quantity"] == "linear":
        return engine.concentration_error_linear(*args, **kw)
    return engine.concentration_error_grad(*args, wrt=point["quantity"][-1], **kw)


_FIELDS = ("mean", "stderr", "ess", "ess_min", "top1_share")


def trace_digits(point: dict, seed, run) -> float:
    """Agreeing digits, worst field, of the engine's estimate and the estimate recomputed from its recorded draws."""
    record = []
    est = run(point, seed, record)
    ref = estimate_from_draws(point["measure"], point["U"], point["V"], record, point["quantity"],
                              point["query_scale"])
    return min(digits_between(float(getattr(est, f)), ref[f], cap=16.0) for f in _FIELDS)


def _scaled_run(factor, quantity):
    """A planted engine: the mean and standard error of ``quantity`` multiplied by ``factor``."""
    def run(point, seed, record=None):
        est = engine_run(point, seed, record)
        if point["quantity"] != quantity:
            return est
        f = factor(point) if callable(factor) else factor
        return engine.ConcentrationEstimate(**{**est.__dict__, "mean": est.mean * f, "stderr": est.stderr * f})
    return run


ENGINE_ARITHMETIC = bound(
    "instrument-arithmetic", engine_run, trace_digits, TRACE_POINTS, threshold=12, relation=">=", unit="digits",
    kind="float64", prepare=lambda p, rng: np.random.SeedSequence(int(rng.integers(2**63))),
    what="agreeing digits (mean, stderr, ESS, ESS min, top-1% share) with the estimate recomputed from the draws",
    description="the audit's Monte Carlo engine (output, grad_V, grad_U and linear errors) for Gaussian, cube, "
                "Rademacher (d = 3) and mixture prompts, U and V generic, prompts drawn in chunks: every figure it "
                "reports recomputed from its own recorded draws by an independent route (whole prompt at once, "
                "T[mu] and the tilted covariance by quadrature of the law, gradients as explicit Jacobian tensors)",
    mutants=[Mutant("per-query output 1% too large", _scaled_run(1.01, "output")),
             Mutant("grad_V without its factor d", _scaled_run(lambda p: 1.0 / p["U"].shape[0], "grad_V")),
             Mutant("grad_U 5% too large", _scaled_run(1.05, "grad_U"))])


def _sampler_points(rng=None) -> list:
    out = []
    for name, (mu, U, V) in LAWS.items():
        m = law_moments(mu)
        d = mu.dim
        values = (list(m["mean"]) + [m["second"][i, j] for i in range(d) for j in range(i, d)] + list(m["fourth"])
                  + [0.0] * d + [1.0 if i == j else 0.0 for i in range(d) for j in range(i, d)])
        values = [0.0 if abs(v) < 1e-12 else float(v) for v in values]  # a quadrature's 1e-17 for an exact 0
        out.append({"measure": mu, "U": U, "V": V, "L": 200, "n_prompts": 400, "queries": 20, "chunk": None,
                    "query_scale": 1.0, "quantity": "output", "moments": values, "label": name})
    return out


def sampler_estimates(point: dict, rng, run) -> list:
    """Moment estimates of the tokens (mean, second moments, coordinates' fourth moments) and the queries (mean,
    second moments) the engine drew at the point (80 000 tokens, 8000 queries)."""
    record = []
    run(point, np.random.SeedSequence(int(rng.integers(2**63))), record)
    X = np.concatenate([b["tokens"].reshape(-1, b["tokens"].shape[-1]) for b in record])
    Z = np.concatenate([b["queries"].reshape(-1, b["queries"].shape[-1]) for b in record])
    d = X.shape[1]
    est = [mean_estimate(X[:, i]) for i in range(d)]
    est += [mean_estimate(X[:, i] * X[:, j]) for i in range(d) for j in range(i, d)]
    est += [mean_estimate(X[:, i] ** 4) for i in range(d)]
    est += [mean_estimate(Z[:, i]) for i in range(d)]
    est += [mean_estimate(Z[:, i] * Z[:, j]) for i in range(d) for j in range(i, d)]
    return est


def _rescaled_draws(name, factor):
    """A planted sampler: the tokens of the law ``name`` drawn ``factor`` times too wide (e.g. the cube on
    [-sigma, sigma] instead of [-sigma sqrt 3, sigma sqrt 3])."""
    def run(point, seed, record=None):
        est = engine_run(point, seed, record)
        if record is not None and point["label"] == name:
            for b in record:
                b["tokens"] = b["tokens"] * factor
        return est
    return run


ENGINE_SAMPLER = z_test(
    "instrument-draws", engine_run, sampler_estimates, _sampler_points, value=lambda p, subj: p["moments"],
    driven=True, resolve=0.15,
    description="the tokens the audit's engine draws have each law's moments (mean, second moments, fourth moment "
                "of each coordinate, by quadrature of the law) and its queries N(0, I)'s, 80 000 tokens and 8000 "
                "queries per law; resolves a 15% error of any moment (13% seen: the smallest moments set the floor); a "
                "law drawn 5% too wide moves its second moments by 10 standard errors",
    mutants=[Mutant("cube drawn on [-sigma, sigma]", _rescaled_draws("uniform cube, sigma = 1.2", 1 / math.sqrt(3))),
             Mutant("mixture components 10% too wide", _rescaled_draws("symmetric Gaussian pair", 1.1)),
             Mutant("the audit's Gaussian drawn 5% too wide", _rescaled_draws("N(0, I_2) (the audit's Gaussian)", 1.05))])


def _linear_points(rng=None) -> list:
    return [{"sigma": sg, "U": U, "V": V, "L": L, "label": f"d={U.shape[0]}, sigma={sg}, L={L}"}
            for sg, U, V, L in ((0.7, np.array([[1.3]]), np.array([[0.8]]), 3), (1.3, _U2, _V2, 7),
                                (0.9, _U3, _V3, 50))]


LINEAR_EXACT = agreement(
    "instrument-linear-exact", lambda p: engine.concentration_error_linear_gaussian(p["sigma"], p["U"], p["V"], p["L"]),
    lambda p: linear_error_quadrature(p["sigma"], p["U"], p["V"], p["L"]), _linear_points, digits=13, kind="float64",
    reference_name="the exact Gauss-Hermite rule of the definition",
    description="the linear-attention error the audit reports, sigma^4 (||U||_F^2 ||V||_F^2 + ||VU||_F^2) / L, against "
                "the definition (1/L) E||(x^T U z) V x - sigma^2 V U z||^2 integrated exactly (a polynomial: 3-node "
                "tensor Gauss-Hermite in x and z), d = 1, 2, 3, U and V generic",
    mutants=[Mutant("without the ||VU||_F^2 term", lambda p: p["sigma"] ** 4 * np.sum(p["U"] ** 2) * np.sum(p["V"] ** 2)
                    / p["L"]),
             Mutant("sigma^2 for sigma^4", lambda p: p["sigma"] ** 2 * (np.sum(p["U"] ** 2) * np.sum(p["V"] ** 2)
                                                                     + np.sum((p["V"] @ p["U"]) ** 2)) / p["L"])])


STATEMENT = Statement(
    id="prop-3-1-literal", number="Props 3.1/3.4 at L = 1", order=3.16,
    finding=Finding(kind="falsified as written", summary="Props 3.1 and 3.4 as displayed fail at L = 1 (ln 1 = 0 makes the right side 0); a repaired bound holds for L ≥ 2", form="d = 1, μ = ν = N(0, 1), K = 0, Q = V = M = σ = 1: left side 1, right side 0"),
    title="The L = 1 boundary of Props 3.1 and 3.4",
    summary="witness d=1, mu=nu=N(0,1), K=0, Q=V=M=sigma=1: left side 1, right side 0; repaired for L >= 2",
    source="arXiv 2512.11784, Prop 3.1 and Prop 3.4 (the bounds at L = 1)",
    statement_tex=r"L = 1:\ \mathbb E\|T[\hat\mu_1]-T[\mu]\|^2 = 1 > 0 = c_1\sigma^6 \ln 1 / 1^{c_2/\sigma^2}",
    derivations=lambda: [derivation_witness(), derivation_right()],
    checks=[z_test("witness-left-side", lambda p: 1.0, witness_estimate, [{"label": "L=1 witness"}], resolve=0.2,
                   description="Monte Carlo of the left side at L = 1 (witness) against 1",
                   mutants=[Mutant("the paper's right side 0", lambda p: 0.0)]),
            ENGINE_ARITHMETIC, ENGINE_SAMPLER, LINEAR_EXACT],
    notes_tex=[r"For $L \ge 2$ the bound holds on the audit grid with $c_2 = \alpha(\|U\|_{op})$ and the fitted $c_1$ "
               r"(\texttt{verify audit})."],
)
