"""The MGF/Wishart moment engine (verify.symbolic.gaussian_mgf): agreement with the Isserlis engine, and failure
on planted wrong moments."""

import itertools

import numpy as np
import pytest
import sympy as sp

from verify.symbolic.gaussian_mgf import GaussianBlock, PromptAverage, mgf_expectation, symmetric_symbols, wishart_product
from verify.symbolic.wick import wick_expectation

x, y, z = sp.symbols("x y z")
a, b, c = sp.symbols("a b c")
COVS = [sp.Matrix([[2, 1, 0], [1, 3, 1], [0, 1, 1]]), sp.Matrix([[a, c, 0], [c, b, 0], [0, 0, 1]])]
POLYS = [x**4, x**2 * y**2, x * y * z**2, x**3 * y + 2 * y * z, (a * x + y - z) ** 4, x**2 * y**2 * z**2, x**6]


@pytest.mark.parametrize("cov, poly", list(itertools.product(COVS, POLYS)))
def test_agrees_with_wick_on_shared_cases(cov, poly):
    assert sp.expand(mgf_expectation(poly, [GaussianBlock([x, y, z], cov)]) - wick_expectation(poly, [x, y, z], cov)) == 0


def test_independent_blocks_multiply():
    e = mgf_expectation(x**2 * y**2, [GaussianBlock([x], [[a]]), GaussianBlock([y], [[b]])])
    assert sp.expand(e - a * b) == 0


class _NoFactorial(GaussianBlock):
    """A planted wrong moment: the coefficient of the MGF without the k! factors."""

    def moment(self, exps):
        return super().moment(exps) / sp.prod([sp.factorial(k) for k in exps])


def test_a_wrong_moment_is_seen_by_the_comparison():
    cov = COVS[0]
    bad = mgf_expectation(x**2 * y**2, [_NoFactorial([x, y, z], cov)])
    assert sp.expand(bad - wick_expectation(x**2 * y**2, [x, y, z], cov)) != 0


def test_prompt_average_equals_joint_law_at_small_m():
    """E[S B S] by the Wishart route (symbolic M set to 2) equals the expectation from the joint law of x_1, x_2."""
    d, m = 2, 2
    Lam = sp.Matrix([[2, 1], [1, 3]])
    B = sp.Matrix([[1, 2], [-1, 5]])
    S = symmetric_symbols("s", d)
    route = PromptAverage(S, Lam, sp.Symbol("M"))(S * B * S).subs(sp.Symbol("M"), m)
    xs = [sp.Matrix(sp.symbols(f"x{i}_0:{d}")) for i in range(m)]
    Sx = (xs[0] * xs[0].T + xs[1] * xs[1].T) / m
    joint = mgf_expectation(Sx * B * Sx, [GaussianBlock(list(v), Lam) for v in xs])
    assert sp.simplify(route - joint) == sp.zeros(d, d)
    assert sp.simplify(route - wishart_product(Lam, B, m)) == sp.zeros(d, d)
    wrong = Lam * B * Lam + (Lam * B * Lam + (B * Lam).trace() * Lam) / m  # B for B^T
    assert sp.simplify(route - wrong) != sp.zeros(d, d)


def test_prompt_average_matches_monte_carlo():
    Lam = np.array([[1.0, 0.4], [0.4, 2.0]])
    S = symmetric_symbols("s", 2)
    val = PromptAverage(S, sp.Matrix(Lam), 3)(S[0, 1] ** 2 + S[0, 0] * S[1, 1])
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400_000, 3, 2)) @ np.linalg.cholesky(Lam).T
    Sh = np.einsum("bmi,bmj->bij", X, X) / 3
    samples = Sh[:, 0, 1] ** 2 + Sh[:, 0, 0] * Sh[:, 1, 1]
    assert abs(samples.mean() - float(val)) < 5 * samples.std() / np.sqrt(samples.size)


@pytest.mark.parametrize("call, name", [
    (lambda: GaussianBlock([x, x], sp.eye(2)), "variables"),
    (lambda: GaussianBlock([x, y], sp.eye(3)), "cov"),
    (lambda: GaussianBlock([x, y], [[1, 2], [3, 1]]), "cov"),
    (lambda: GaussianBlock([x + 1], [[1]]), "variables"),
    (lambda: mgf_expectation(sp.sin(x), [GaussianBlock([x], [[1]])]), "expr"),
    (lambda: mgf_expectation(x, []), "blocks"),
    (lambda: PromptAverage(symmetric_symbols("s", 2), sp.eye(3), 2), "S"),
    (lambda: PromptAverage(symmetric_symbols("s", 2), sp.eye(2), 2)(symmetric_symbols("s", 2)[0, 0] ** 3), "expr"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises((ValueError, TypeError)) as exc:
        call()
    assert str(exc.value).startswith(name + ":"), str(exc.value)
