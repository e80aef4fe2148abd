"""API hygiene, tried as a new user would.

* every public callable of ``verify.__all__`` refuses None, strings, bools, complex numbers, NaN/inf and other
  wrong types with a ``TypeError``/``ValueError`` that names the parameter;
* every grid or loop that scales with user input has a cap with a clear error;
* the finite-prompt estimators report the softmax effective sample size and flag a collapse, and no evidence
  constructor counts a flagged, NaN or infinite figure as agreement.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
import warnings

import mpmath
import numpy as np
import pytest

import verify
from verify.kernel import evidence
from verify.kernel.statement import Mutant, Outcome
from verify.icl.risk import (
    ESS_COLLAPSED_TOKENS,
    MAX_CHUNK_TOKENS,
    MAX_L,
    MAX_PROMPTS,
    bayes_point,
    icl_risk_gap_mc,
    icl_risk_infinite,
    icl_risk_mc,
    toeplitz_sigma,
)
from verify.numerics.measures import Gaussian, Rademacher
from verify.numerics.montecarlo import Estimate, fit_rate, stream
from verify.numerics.quadrature import MAX_FLOAT_GRID, MAX_GRID_POINTS, gaussian_expectation

I2 = np.eye(2)
S2 = toeplitz_sigma(2, 0.5)
U2, V2 = bayes_point(S2)

# Valid keyword arguments of every public callable; the bad-input test substitutes one argument at a time.
GOOD = {
    "Gaussian": dict(mean=[0.0, 1.0], cov=I2),
    "isotropic_gaussian": dict(sigma=1.0, dim=2),
    "Rademacher": dict(dim=2, scale=1.0),
    "UniformCube": dict(dim=2, scale=1.0),
    "GaussianMixture": dict(dim=2, scale=1.0, fraction=0.5, direction=[1.0, 0.0]),
    "Empirical": dict(tokens=np.ones((3, 2))),
    "Estimate": dict(mean=1.0, stderr=0.1, n=10),
    "gaussian_limit": dict(K=I2, Q=I2, V=I2, mean=[1.0, 0.0], cov=I2, z=[0.0, 1.0]),
    "linear_limit": dict(K=I2, Q=I2, V=I2, mean=[1.0, 0.0], cov=I2, z=[0.0, 1.0]),
    "softmax_attention": dict(tokens=np.ones((3, 2)), z=[0.0, 1.0], K=I2, Q=I2, V=I2),
    "linear_attention": dict(tokens=np.ones((3, 2)), z=[0.0, 1.0], K=I2, Q=I2, V=I2),
    "attention_quadrature": dict(K=I2, Q=I2, V=I2, mean=[1.0, 0.0], cov=I2, z=[0.0, 1.0], dps=15),
    "attention_quadrature_float": dict(K=I2, Q=I2, V=I2, mean=[1.0, 0.0], cov=I2, z=[0.0, 1.0], step=0.125),
    "attention_enclosure": dict(K=I2, Q=I2, V=I2, mean=[1.0, 0.0], cov=I2, z=[0.0, 1.0], prec=80),
    "gaussian_expectation": dict(f=lambda x: x[0] * x[1], mean=[1.0, 0.0], cov=I2, n=3, dps=20),
    "check_claim": dict(claim_id="gaussian-limit", formula="V*m", seed=0),
    "gamma_w": dict(Sigma=S2, w=[1.0, 2.0], noise=0.1),
    "icl_risk_infinite": dict(U=U2, V=V2, Sigma=S2, noise=0.1),
    "icl_risk_infinite_mc": dict(U=U2, V=V2, Sigma=S2, n_prompts=10, seed=0, noise=0.1),
    "icl_risk_mc": dict(U=U2, V=V2, Sigma=S2, L=3, n_prompts=10, seed=0, noise=0.1),
    "icl_risk_gap_mc": dict(U=U2, V=V2, Sigma=S2, L=3, n_prompts=10, seed=0, noise=0.1),
    "fit_rate": dict(Ls=[10, 100], estimates=[Estimate(0.1, 0.001, 10), Estimate(0.01, 0.0001, 10)]),
    "bayes_point": dict(Sigma=S2),
    "invariant_point": dict(A=1.0, b=1.0, d=2),
    "concentration_error": dict(measure=Gaussian([0.0, 0.0], I2), U=0.5 * I2, V=I2, L=3, n_prompts=40, seed=0),
    "concentration_error_grad": dict(measure=Gaussian([0.0, 0.0], I2), U=0.5 * I2, V=I2, L=3, n_prompts=40, seed=0),
    "concentration_error_linear": dict(measure=Gaussian([0.0, 0.0], I2), U=0.5 * I2, V=I2, L=3, n_prompts=40,
                                       seed=0),
    "concentration_error_gaussian": dict(sigma=1.0, U=[[0.5]], V=[[2.0]], L=4),
    "sharp_exponent": dict(sigma=2.0, U=np.eye(3)),
}

SCALAR_BAD = {"None": None, "bool": True, "complex": 1 + 2j, "nan": float("nan"), "inf": float("inf"),
              "object": object()}


def _array_bad(value):
    """Array-shaped corruptions of a valid numeric argument (none when it is not an array)."""
    if isinstance(value, (str, int, float, Gaussian)) or callable(value) or (isinstance(value, list) and isinstance(value[0], Estimate)):
        return {}
    arr = np.asarray(value, dtype=float)
    nan = arr.copy()
    nan.flat[-1] = np.nan
    return {"complex array": arr + 1j, "bool array": arr != 0, "NaN entry": nan, "string": "identity"}


CASES = [
    (name, param, kind, bad)
    for name, kwargs in GOOD.items()
    for param, value in kwargs.items()
    for kind, bad in {**SCALAR_BAD, **_array_bad(value)}.items()
]


# The statement-authoring API takes arbitrary Python objects where the fuzz would put its bad values (a subject, a
# reference, a SymPy start, a list of points): its refusals are tested per kind in tests/test_evidence.py
# (TestEveryKind::test_bad_input_names_the_parameter) and in tests/test_derivation.py.
AUTHORING = {
    "Statement": "verify.kernel.statement", "Mutant": "verify.kernel.statement", "Derivation": "verify.kernel.derivation",
    "Finding": "verify.kernel.verdict",
    **{kind: "verify.kernel.evidence" for kind in ("agreement", "enclosure", "z_test", "rate", "rejection", "bound",
                                                    "trajectory")},
}

# Refusals that name the parameter but with the wrong exception type, or that do not name it: known defects of the
# callable (not of this test), each an expected failure until fixed; strict, so a fix turns it red here.
TYPE_DEFECTS: dict = {}
# Values that are legitimate for a parameter although the fuzz tries them as bad
LEGITIMATE = {("GaussianMixture", "direction", "None")}  # the default direction (1, ..., 1)/sqrt(d)


def test_every_public_callable_is_covered():
    public = {n for n in verify.__all__ if callable(getattr(verify, n))}
    missing = sorted(public ^ (set(GOOD) | set(AUTHORING)))
    assert not missing, f"add the new public names to GOOD (fuzzed) or AUTHORING: {missing}"


def test_the_authoring_api_is_the_kernels_own():
    import importlib

    for name, module in AUTHORING.items():
        assert getattr(verify, name) is getattr(importlib.import_module(module), name), name


def test_import_verify_loads_nothing_until_a_name_is_used():
    import subprocess
    import sys

    probe = ("import sys, verify; heavy = [m for m in ('numpy', 'sympy', 'mpmath', 'scipy', 'verify.kernel') "
             "if m in sys.modules]; print(heavy); verify.Estimate; print('numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["[]", "True"], out.stdout + out.stderr


def test_version_dir_and_unknown_names():
    import sys
    from importlib.metadata import version

    assert verify.__version__ == version("softmax-verify")
    assert set(verify.__all__) <= set(dir(verify)) and "__version__" in dir(verify)
    with pytest.raises(AttributeError, match="no attribute 'gaussian_limt'"):
        verify.gaussian_limt  # noqa: B018
    assert verify.kernel is sys.modules["verify.kernel"] and "numerics" in dir(verify)  # subpackages on access


def test_the_readme_python_api_uses_exported_names():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    api = readme[readme.index("## Python API"):]
    api = api[:api.index("\n## ", 1)]
    used = set(re.findall(r"\bverify\.([A-Za-z_]\w*)", api)) | set(re.findall(r"# or ([A-Z]\w+(?:, [A-Z]\w+)*)", api)[0].split(", "))
    assert {"isotropic_gaussian", "UniformCube", "GaussianMixture"} <= used
    assert not [n for n in used if n not in verify.__all__], sorted(n for n in used if n not in verify.__all__)


# accepted calls that take seconds (a full claim check, the exact concentration curve) are exercised by
# tests/test_formula.py and tests/test_concentration.py
_SLOW_GOOD = {"check_claim", "concentration_error_gaussian"}


def _numbers(x) -> list[float]:
    """Every number in a result: arrays, mpmath numbers, Arb balls (midpoint and radius), Estimates and other
    dataclasses field by field, tuples and lists."""
    if isinstance(x, (bool, str)) or x is None:
        return []
    if isinstance(x, (int, float, np.number, mpmath.mpf)):
        return [float(x)]
    if isinstance(x, np.ndarray):
        return [float(v) for v in x.ravel()]
    if hasattr(x, "mid") and hasattr(x, "rad"):  # flint.arb
        return [float(x.mid()), float(x.rad())]
    if isinstance(x, (tuple, list)):
        return [v for item in x for v in _numbers(item)]
    if dataclasses.is_dataclass(x):
        return [v for f in dataclasses.fields(x) for v in _numbers(getattr(x, f.name))]
    raise AssertionError(f"no numbers known in a {type(x).__name__}")


# what the good calls must return, where it is known in closed form (K = Q = V = I, m = e1, Gamma = I, z = e2)
EXPECTED = {
    "gaussian_limit": [1.0, 1.0],  # V m + V Gamma K^T Q z
    "linear_limit": [0.0, 1.0],  # V (Gamma + m m^T) K^T Q z
    "attention_quadrature": [1.0, 1.0],
    "attention_quadrature_float": [1.0, 1.0],
    "gaussian_expectation": [0.0],  # E x_0 x_1 = m_0 m_1 + Gamma_01
}


@pytest.mark.parametrize("name", sorted(set(GOOD) - _SLOW_GOOD))
def test_good_arguments_are_accepted(name):
    result = getattr(verify, name)(**GOOD[name])
    numbers = _numbers(result)
    assert numbers and all(math.isfinite(v) for v in numbers), numbers
    if name in ("isotropic_gaussian", "UniformCube", "GaussianMixture", "Rademacher"):
        # centred; covariance scale^2 I, for the mixture (1 - f) scale^2 I + f scale^2 e e^T (f = 1/2, e = e1)
        assert np.allclose(result.mean, 0.0)
        assert np.allclose(result.cov, np.diag([1.0, 0.5]) if name == "GaussianMixture" else np.eye(2)), result.cov
    elif name == "attention_enclosure":
        mids, rads = numbers[0::2], numbers[1::2]
        assert all(abs(m - 1.0) <= r + 1e-20 and r < 1e-15 for m, r in zip(mids, rads)), numbers
    elif name in EXPECTED:
        assert numbers == pytest.approx(EXPECTED[name], abs=1e-12), numbers


def _case(name, param, kind, bad):
    marks = ([pytest.mark.xfail(reason=TYPE_DEFECTS[name, param], strict=True)]
             if (name, param) in TYPE_DEFECTS and kind in ("None", "bool", "complex", "object") else [])
    return pytest.param(name, param, kind, bad, id=f"{name}-{param}-{kind}", marks=marks)


@pytest.mark.parametrize("name, param, kind, bad",
                         [_case(*c) for c in CASES if (c[0], c[1], c[2]) not in LEGITIMATE])
def test_bad_argument_names_the_parameter(name, param, kind, bad):
    kwargs = dict(GOOD[name], **{param: bad})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ComplexWarning (silent truncation) is a failure too
        with pytest.raises((TypeError, ValueError)) as err:
            getattr(verify, name)(**kwargs)
    assert param in str(err.value).split(":")[0], f"{type(err.value).__name__}: {err.value}"
    if kind in ("None", "bool", "complex", "object", "complex array", "bool array", "string"):
        # a value of the wrong type is a TypeError, except where a string is a legitimate value (ids, formulas)
        # or None is (U=None: K and Q are given instead)
        legit = name == "check_claim" or param == "Ls" or (name.startswith("concentration") and kind == "None")
        assert isinstance(err.value, TypeError) or legit, str(err.value)


# ------------------------------------------------------------------------------------ named messages


def test_softmax_z_none_says_none():
    for fn in (verify.softmax_attention, verify.linear_attention):
        with pytest.raises(TypeError, match=r"^z: expected an array, got None$"):
            fn(np.ones((3, 2)), None, I2, I2, I2)


def test_wrong_mean_blames_mean():
    for fn in (verify.gaussian_limit, verify.linear_limit, verify.attention_quadrature_float,
               verify.attention_quadrature):
        with pytest.raises(ValueError, match=r"^mean: expected length 2, got 3"):
            fn(I2, I2, I2, [1.0, 2.0, 3.0], I2, [0.0, 1.0])
    with pytest.raises(ValueError, match=r"^cov: "):  # and a wrong cov still blames cov
        verify.gaussian_limit(I2, I2, I2, [1.0, 2.0], np.eye(3), [0.0, 1.0])


def test_fit_rate_takes_pairs_and_says_what_it_needs():
    fit = fit_rate([10, 100, 1000], [(0.1, 0.001), (0.01, 0.0001), (0.001, 0.00001)])
    assert fit.exponent == pytest.approx(-1.0, abs=1e-12)
    with pytest.raises(TypeError, match=r"^estimates: .*\(mean, stderr\) pair.*standard error"):
        fit_rate([10, 100], [0.1, 0.01])
    with pytest.raises(TypeError, match=r"^Ls: expected a sequence"):
        fit_rate(None, [(0.1, 0.001)])
    with pytest.raises(TypeError, match=r"^estimates: expected a sequence"):
        fit_rate([10, 100], None)
    with pytest.raises(TypeError, match=r"^Ls: each L must be a number"):
        fit_rate(["10", 100], [(0.1, 0.001), (0.01, 0.0001)])
    with pytest.raises(ValueError, match=r"^estimates: a \(mean, stderr\) pair with stderr"):
        fit_rate([10, 100], [(0.1, -1.0), (0.01, 0.0001)])


def test_positive_definiteness_is_relative():
    tiny = 1e-15 * np.eye(2)
    assert np.allclose(verify.gaussian_limit(I2, I2, I2, [0.0, 0.0], tiny, [1.0, 0.0]), [1e-15, 0.0], rtol=1e-12)
    assert Gaussian([0.0, 0.0], tiny).dim == 2
    assert math.isfinite(icl_risk_infinite(U2, V2, 1e-15 * S2))
    with pytest.raises(ValueError, match=r"^Sigma: covariance must be positive definite"):
        icl_risk_infinite(U2, V2, np.diag([1.0, 1e-16]))  # relatively singular (condition 1e16)


def test_estimate_fields_are_validated():
    with pytest.raises(ValueError, match=r"^mean: must be finite"):
        Estimate(float("nan"), 0.1, 3)
    with pytest.raises(ValueError, match=r"^stderr: must be finite"):
        Estimate(1.0, float("inf"), 3)
    with pytest.raises(TypeError, match=r"^mean: expected a real number"):
        Estimate(1 + 1j, 0.1, 3)
    with pytest.raises(ValueError, match=r"^n: must be >= 1"):
        Estimate(1.0, 0.1, 0)
    with pytest.raises(ValueError, match="NaN"):
        Outcome(float("nan"), 1.0, "<=")


# ------------------------------------------------------------------------------------------ caps


def test_float_quadrature_grid_is_capped():
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=rf"^z: .*1\.6e\+09 trapezoid points.*limit is {MAX_FLOAT_GRID}"):
        verify.attention_quadrature_float(I2, I2, I2, [0.0, 0.0], I2, [1e8, 0.0])
    with pytest.raises(ValueError, match=r"^step: "):
        verify.attention_quadrature_float(I2, I2, I2, [0.0, 0.0], I2, [1.0, 0.0], step=1e-9)
    assert time.perf_counter() - t0 < 1.0  # refused before any grid is built
    # just below the cap it still works (slope 2e5: 3.2e6 points)
    out = verify.attention_quadrature_float([[1.0]], [[1.0]], [[1.0]], [0.0], [[1.0]], [2e5])
    assert out[0] == pytest.approx(2e5, rel=1e-12)


def test_high_precision_grids_are_capped():
    with pytest.raises(ValueError, match=r"^dps: at most"):
        verify.attention_quadrature(I2, I2, I2, [0.0, 0.0], I2, [1.0, 0.0], dps=10**6)
    I9 = np.eye(9)
    with pytest.raises(ValueError, match=rf"^mean, cov: .*20\^9 points.*limit of {MAX_GRID_POINTS:.0e}".replace("+", r"\+")):
        verify.attention_quadrature(I9, I9, I9, [0.0] * 9, I9, [0.1] * 9)
    with pytest.raises(ValueError, match=r"^n: .*1000\^3"):
        gaussian_expectation(lambda x: x[0], [0.0] * 3, np.eye(3), n=1000)
    with pytest.raises(ValueError, match=r"^dim: "):
        Rademacher(30).atoms()
    from verify.numerics.attention import MAX_BATCH_FLOATS, softmax_batch_means

    with pytest.raises(ValueError, match=rf"^L: a batch of 5 prompts x L=10000000 tokens x d=1 .*{MAX_BATCH_FLOATS}"):
        softmax_batch_means(Rademacher(1), [[1.0]], [[1.0]], [[1.0]], [1.0], 10**7, 200, np.random.default_rng(0), 40)


@pytest.mark.parametrize("param, value", [("L", MAX_L + 1), ("chunk_tokens", MAX_CHUNK_TOKENS + 1),
                                          ("n_prompts", MAX_PROMPTS + 1)])
def test_finite_prompt_loops_are_capped(param, value):
    kwargs = {"L": 10, "n_prompts": 10, "seed": 0, param: value}
    for fn in (icl_risk_mc, icl_risk_gap_mc):
        with pytest.raises(ValueError, match=rf"^{param}: at most"):
            fn(U2, V2, S2, **kwargs)
    if param == "n_prompts":
        with pytest.raises(ValueError, match=r"^n_prompts: at most"):
            verify.icl_risk_infinite_mc(U2, V2, S2, value, seed=0)


# --------------------------------------------------------------------------------- effective sample size


def _huge_scores():
    """Scores so large that softmax puts all weight on one token: U11 = 1e4 I (d = 3), V at the Bayes point, L = 100."""
    S = toeplitz_sigma(3, 0.5)
    _, V = bayes_point(S)
    U = np.zeros((4, 4))
    U[:3, :3] = 1e4 * np.eye(3)
    return U, V, S


def test_collapsed_ess_is_flagged():
    U, V, S = _huge_scores()
    for fn in (icl_risk_gap_mc, icl_risk_mc):
        with pytest.warns(RuntimeWarning, match="effective sample size collapsed"):
            est = fn(U, V, S, 100, n_prompts=500, seed=0)
        assert not est.reliable and "median ESS 1 of L=100" in est.warning
        assert est.ess == pytest.approx(1.0, abs=1e-6)
        assert "UNRELIABLE" in str(est)


def test_healthy_ess_is_not_flagged():
    S = toeplitz_sigma(3, 0.5)
    U, V = bayes_point(S)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for L, lo in ((1, 1.0), (10, 5.0), (100, 40.0)):
            est = icl_risk_gap_mc(0.7 * U, V, S, L, n_prompts=600, seed=1)
            assert est.reliable and est.ess >= lo, (L, est.ess)
    assert ESS_COLLAPSED_TOKENS == 2.0


def test_flagged_estimate_never_agrees():
    U, V, S = _huge_scores()
    with pytest.warns(RuntimeWarning):
        flagged = icl_risk_gap_mc(U, V, S, 100, n_prompts=500, seed=0)
    clean = dataclasses.replace(flagged, warning="")

    def check(est):
        return evidence.z_test("gap", lambda p: est.mean, lambda p, rng: est, [{"label": "huge"}],
                               mutants=[Mutant("shifted", lambda p: est.mean + 100 * est.stderr)])

    assert check(clean).outcome(stream(0, "ess")).passed  # z = 0: only the flag can fail it
    out = check(flagged).outcome(stream(0, "ess"))
    assert not out.passed and "UNRELIABLE" in out.detail
    gaps = [Estimate(1.0 / L, 1e-3 / L, 1000) for L in (10, 100, 1000)]
    rate = evidence.rate("decay", 0.0, lambda L, rng: None, lambda L, _, s: gaps[[10, 100, 1000].index(L)], [10, 100, 1000],
                         exponent=0.5, mutants=[Mutant("plateau", 1.0)])
    assert rate.outcome(stream(0, "ess")).passed
    gaps[1] = dataclasses.replace(gaps[1], warning="collapsed")
    out = rate.outcome(stream(0, "ess"))
    assert not out.passed and "flagged unreliable" in out.detail
    with pytest.raises(ValueError, match="flagged unreliable"):
        fit_rate([10, 100, 1000], gaps)
    assert "collapsed" in (gaps[1] - gaps[0]).warning  # a difference keeps the flag
    from verify.icl.references import gap_to_subject  # the proofs' rate checks see the flag too

    with pytest.warns(RuntimeWarning):
        U, V, S = _huge_scores()
        assert not gap_to_subject(U, V, S, 0.0, 100, 500, np.random.default_rng(0), 0.0).reliable


# ------------------------------------------------------------------------ NaN / inf never agree


def _fails(make):
    """A check that refuses to compute (ValueError: run_check records a failure) or computes a failure."""
    try:
        out = make().outcome(stream(0, "nan"))
    except ValueError:
        return True
    return not out.passed


NAN, INF = float("nan"), float("inf")


def test_agreement_nan_or_inf_at_a_later_point():
    pts = [{"x": 1.0}, {"x": 2.0}]
    for bad in (NAN, INF):
        ref = lambda p, bad=bad: p["x"] if p["x"] == 1.0 else bad  # noqa: E731
        assert _fails(lambda: evidence.agreement("a", lambda p: p["x"], ref, pts, digits=10, kind="float64",
                                                 mutants=[Mutant("m", lambda p: 0.0)]))
        same = lambda p, bad=bad: bad  # noqa: E731  (inf == inf, NaN vs NaN: still no agreement)
        assert _fails(lambda: evidence.agreement("a", same, same, pts, digits=10, kind="float64",
                                                 mutants=[Mutant("m", lambda p: 0.0)]))


def test_enclosure_infinite_subject_or_nan_ball():
    import flint

    assert _fails(lambda: evidence.enclosure("e", lambda p: mpmath.inf, lambda p: [flint.arb(1)], [{}], digits=5,
                                             mutants=[Mutant("m", lambda p: 0)]))
    # a NaN ball "contains" everything; its infinite radius certifies no digit
    assert _fails(lambda: evidence.enclosure("e", lambda p: mpmath.mpf(1), lambda p: [flint.arb("nan")], [{}],
                                             digits=5, mutants=[Mutant("m", lambda p: 0)]))


def test_z_test_nan_or_inf_subject_at_a_later_point():
    est = Estimate(1.0, 0.1, 100)
    for bad in (NAN, INF):
        subj = lambda p, bad=bad: 1.0 if p["k"] == 0 else bad  # noqa: E731
        assert _fails(lambda: evidence.z_test("z", subj, lambda p, rng: est, [{"k": 0}, {"k": 1}],
                                              mutants=[Mutant("m", lambda p: 2.0)]))


def test_rate_nan_limit():
    assert _fails(lambda: evidence.rate("r", NAN, lambda L, rng: 1.0 / L, lambda L, x, s: Estimate(x - s, 1e-4, 100), [10, 100],
                                        exponent=0.5, mutants=[Mutant("m", 1.0)]))


@pytest.mark.parametrize("relation", [">=", "<="])
def test_bound_and_rejection_nan_at_a_later_point(relation):
    figs = {0: 1.0, 1: NAN}
    assert _fails(lambda: evidence.bound("b", None, lambda p, s: figs[p["k"]], [{"k": 0}, {"k": 1}], threshold=0.5 if
                                         relation == ">=" else 2.0, relation=relation,
                                         mutants=[Mutant("m", None)]))
    assert _fails(lambda: evidence.rejection("r", None, lambda p, _, s: figs[p["k"]] * 10, [{"k": 0}, {"k": 1}],
                                             threshold=5.0, unit="|z|", mutants=[Mutant("m", None)]))


def test_every_public_function_and_class_has_an_example_that_runs_as_a_doctest():
    """The reference pages are generated from these docstrings: each shows how the name is used (the doctest
    collection of ``verify/`` runs the examples)."""
    import inspect

    names = [n for n in verify.__all__ if inspect.isfunction(getattr(verify, n)) or inspect.isclass(getattr(verify, n))]
    without = [n for n in names if ">>>" not in (inspect.getdoc(getattr(verify, n)) or "")]
    assert len(names) >= 30 and not without, without
