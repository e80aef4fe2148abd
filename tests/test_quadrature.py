"""Tests of verify.numerics.quadrature: Gauss-Hermite rules at arbitrary precision and measure attention by quadrature.

References are independent of the code under test: moments of N(0, 1) ((k-1)!!), E[X X^T] = \\Gamma + m m^T,
Isserlis' formula, and mpmath.quad of the definition of measure attention.  The closed form of Lemma 2.1
is deliberately not used here (the proof module checks it).
"""

from __future__ import annotations

import numpy as np
import pytest
from mpmath import mp

from verify.numerics.quadrature import (
    MAX_NODES,
    attention_quadrature,
    attention_quadrature_float,
    gaussian_expectation,
    hermite_rule,
    hermite_rule_float,
    nodes_needed,
)


def _random_params(d, seed):
    rng = np.random.default_rng(seed)
    K, Q, V = (rng.normal(0.0, 0.5, (d, d)) for _ in range(3))
    A = rng.normal(size=(d, d))
    cov = A @ A.T / d + 0.5 * np.eye(d)
    return K, Q, V, rng.normal(size=d), cov, rng.normal(size=d)


def _digits(x, ref):
    """Agreeing significant decimal digits of mpf x with mpf ref."""
    with mp.workdps(80):
        if x == ref:
            return 80.0
        return float(-mp.log10(abs(x - ref) / abs(ref)))


def _quad_attention_1d(K, Q, V, m, var, z, dps):
    """Measure attention in d = 1 straight from its definition, by mpmath.quad over the real line."""
    with mp.workdps(dps):
        K, Q, V, m, var, z = (mp.mpf(t) for t in (K, Q, V, m, var, z))
        density = lambda x: mp.exp(-(x - m) ** 2 / (2 * var)) / mp.sqrt(2 * mp.pi * var)
        weight = lambda x: mp.exp((K * x) * (Q * z)) * density(x)
        num = mp.quad(lambda x: weight(x) * V * x, [-mp.inf, m, mp.inf])
        den = mp.quad(weight, [-mp.inf, m, mp.inf])
        return num / den


# ---------------------------------------------------------------------------------- hermite_rule


@pytest.mark.parametrize("n", [1, 2, 7, 10, 31])
def test_hermite_rule_exact_up_to_degree_2n_minus_1(n):
    nodes, weights = hermite_rule(n, 50)
    with mp.workdps(50):
        for k in range(2 * n):
            got = mp.fsum(w * x**k for x, w in zip(nodes, weights))
            exact = mp.fac2(k - 1) if k % 2 == 0 else mp.zero
            assert abs(got - exact) <= mp.mpf(10) ** -45 * max(1, exact), (n, k)


@pytest.mark.parametrize("n", [1, 2, 7, 10, 31])
def test_hermite_rule_not_exact_at_degree_2n(n):
    # x^{2n} - He_n(x)^2 has degree < 2n and E He_n(G)^2 = n!, while He_n vanishes at every node:
    # the rule misses E G^{2n} by exactly n!.
    nodes, weights = hermite_rule(n, 50)
    with mp.workdps(50):
        got = mp.fsum(w * x ** (2 * n) for x, w in zip(nodes, weights))
        exact = mp.fac2(2 * n - 1)
        assert abs(exact - got) > mp.mpf(10) ** -30 * exact  # far above the 50-digit working precision
        assert abs((exact - got) - mp.factorial(n)) <= mp.mpf(10) ** -40 * exact


def test_hermite_rule_symmetric_and_normalised():
    nodes, weights = hermite_rule(41, 40)
    assert len(nodes) == len(weights) == 41
    assert nodes[20] == 0
    with mp.workdps(60):  # negation rounds to the working precision
        assert all(a == -b for a, b in zip(nodes, reversed(nodes)))
    assert all(a < b for a, b in zip(nodes, nodes[1:]))
    with mp.workdps(40):
        assert abs(mp.fsum(weights) - 1) < mp.mpf(10) ** -38


def test_hermite_rule_cached():
    first = hermite_rule(37, 45)
    hits = hermite_rule.cache_info().hits
    second = hermite_rule(37, 45)
    assert second is first
    assert hermite_rule.cache_info().hits == hits + 1
    assert all(isinstance(t, tuple) for t in first)


def test_hermite_rule_float_matches_mp():
    x, w = hermite_rule_float(20)
    nodes, weights = hermite_rule(20, 30)
    assert np.allclose(x, [float(t) for t in nodes], rtol=0, atol=1e-12)
    assert np.allclose(w, [float(t) for t in weights], rtol=1e-10, atol=0)
    assert abs(w.sum() - 1.0) < 1e-14


def test_hermite_rule_bad_input():
    with pytest.raises(ValueError, match="n"):
        hermite_rule(0, 30)
    with pytest.raises(TypeError, match="dps"):
        hermite_rule(5, 30.0)


# --------------------------------------------------------------------------- gaussian_expectation


def test_gaussian_expectation_second_moment_2d():
    rng = np.random.default_rng(11)
    mean = rng.normal(size=2)
    A = rng.normal(size=(2, 2))
    cov = A @ A.T + 0.3 * np.eye(2)
    got = gaussian_expectation(lambda x: [x[i] * x[j] for i in range(2) for j in range(2)], mean, cov, n=3, dps=40)
    with mp.workdps(50):
        m = [mp.mpf(float(t)) for t in mean]
        for i in range(2):
            for j in range(2):
                ref = mp.mpf(float(cov[i, j])) + m[i] * m[j]
                assert _digits(got[2 * i + j], ref) >= 35, (i, j)


def test_gaussian_expectation_isserlis_fourth_moment():
    cov = np.array([[1.3, -0.4], [-0.4, 0.8]])
    got = gaussian_expectation(lambda x: x[0] ** 2 * x[1] ** 2, [0.0, 0.0], cov, n=3, dps=40)
    with mp.workdps(50):
        c = [[mp.mpf(float(t)) for t in row] for row in cov]
        ref = c[0][0] * c[1][1] + 2 * c[0][1] ** 2
    assert _digits(got, ref) >= 35


def test_gaussian_expectation_matrix_valued_f():
    got = gaussian_expectation(lambda x: mp.matrix([[x[0], 1], [2, x[0] ** 2]]), [2.0], [[3.0]], n=2, dps=30)
    assert [mp.nstr(t, 20) for t in got] == ["2.0", "1.0", "2.0", "7.0"]


def test_gaussian_expectation_bad_input():
    with pytest.raises(TypeError, match="f"):
        gaussian_expectation(3.0, [0.0], [[1.0]])
    with pytest.raises(ValueError, match="cov"):
        gaussian_expectation(lambda x: x[0], [0.0, 0.0], [[1.0]])


# --------------------------------------------------------------------------- attention_quadrature


@pytest.mark.parametrize("params", [(0.7, -0.4, 1.3, 0.3, 1.7, 0.9), (1.1, 0.9, -0.6, -1.2, 0.4, 1.5)])
def test_attention_quadrature_1d_against_mpmath_quad_of_definition(params):
    K, Q, V, m, var, z = params
    ref = _quad_attention_1d(K, Q, V, m, var, z, 40)
    got = attention_quadrature([[K]], [[Q]], [[V]], [m], [[var]], [z], dps=40)
    assert len(got) == 1
    assert _digits(got[0], ref) >= 30


def test_attention_quadrature_singular_covariance_against_mpmath_quad():
    # Gamma = u u^T is singular: z' = m + u g with g ~ N(0, 1), so the definition is a 1-D integral in g.
    u = np.array([1.0, -0.5])
    m = np.array([0.2, 0.1])
    K = np.array([[0.5, 0.1], [-0.3, 0.4]])
    Q = np.array([[0.2, -0.6], [0.3, 0.5]])
    V = np.array([[1.0, 0.5], [-0.2, 0.7]])
    z = np.array([0.8, -1.1])
    got = attention_quadrature(K, Q, V, m, np.outer(u, u), z, dps=30)
    with mp.workdps(35):
        Kz = mp.matrix(K.tolist()).T * mp.matrix(Q.tolist()) * mp.matrix(z.tolist())  # a = K^T Q z
        point = lambda g: [mp.mpf(m[i]) + mp.mpf(u[i]) * g for i in range(2)]
        weight = lambda g: mp.exp(mp.fsum(Kz[i] * point(g)[i] for i in range(2)) - g * g / 2)
        den = mp.quad(weight, [-mp.inf, 0, mp.inf])
        for r in range(2):
            num = mp.quad(lambda g: weight(g) * mp.fsum(V[r, c] * point(g)[c] for c in range(2)), [-mp.inf, 0, mp.inf])
            assert _digits(got[r], num / den) >= 25, r


def test_attention_quadrature_keeps_mpf_inputs_exact():
    with mp.workdps(60):
        third = mp.mpf(1) / 3
    got = attention_quadrature([[1.0]], [[1.0]], [[1.0]], [third], [[1.0]], [0.0], dps=45)  # score 0: T = m
    with mp.workdps(60):
        assert _digits(got[0], mp.mpf(1) / 3) >= 44


def test_attention_quadrature_precision_is_local():
    before = mp.dps
    K, Q, V, m, cov, z = _random_params(2, 3)
    attention_quadrature(K, Q, V, m, cov, z, dps=50)
    gaussian_expectation(lambda x: x[0], m, cov, n=2, dps=60)
    hermite_rule(9, 70)
    with pytest.raises(ValueError, match="^z: contains NaN"):
        attention_quadrature(K, Q, V, m, cov, [0.0, np.nan], dps=50)
    assert mp.dps == before


def test_attention_quadrature_result_is_rounded_to_dps():
    K, Q, V, m, cov, z = _random_params(2, 4)
    got = attention_quadrature(K, Q, V, m, cov, z, dps=25)
    assert all(isinstance(t, mp.mpf) for t in got)
    with mp.workdps(25):
        assert all(+t == t for t in got)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(cov=[[1.0, 0.5], [0.0, 1.0]]), "cov"),  # not symmetric
        (dict(cov=[[1.0, 2.0], [2.0, 1.0]]), "cov"),  # indefinite
        (dict(mean=[0.0, 0.0, 0.0]), "mean"),  # a 3-d mean among 2-d K, Q, V, cov, z: the mean is to blame
        (dict(mean=[0.0, 0.0, 0.0], cov=np.eye(3)), "K"),  # K is 2x2, mean has length 3
        (dict(z=[0.0, np.nan]), "z"),
        (dict(z=[0.0, 1.0, 2.0]), "z"),
        (dict(V=[[1.0, 0.0]]), "V"),
        (dict(Q=[[np.inf, 0.0], [0.0, 1.0]]), "Q"),
        (dict(mean=[np.nan, 0.0]), "mean"),
    ],
)
def test_attention_quadrature_bad_input_names_parameter(kwargs, name):
    args = dict(K=np.eye(2), Q=np.eye(2), V=np.eye(2), mean=[0.0, 0.0], cov=np.eye(2), z=[0.5, 0.5])
    args.update(kwargs)
    for fn in (attention_quadrature, attention_quadrature_float):
        with pytest.raises(ValueError, match=rf"^{name}:"):
            fn(**args)


def test_attention_quadrature_bad_type_and_dps():
    with pytest.raises(TypeError, match="K"):
        attention_quadrature("K", np.eye(1), np.eye(1), [0.0], [[1.0]], [0.0])
    with pytest.raises(ValueError, match="dps"):
        attention_quadrature(np.eye(1), np.eye(1), np.eye(1), [0.0], [[1.0]], [0.0], dps=0)


def test_attention_quadrature_refuses_unresolvable_slope():
    # score slope |b| = 20: far beyond MAX_NODES nodes at 40 digits
    with pytest.raises(ValueError, match=r"^z:.*slope"):
        attention_quadrature([[20.0]], [[1.0]], [[1.0]], [0.0], [[1.0]], [1.0], dps=40)
    assert nodes_needed(20.0, 40) > MAX_NODES


def test_attention_quadrature_more_nodes_converge():
    K, Q, V, m, cov, z = _random_params(2, 8)
    auto = attention_quadrature(K, Q, V, m, cov, z, dps=40)
    coarse = attention_quadrature(K, Q, V, m, cov, z, dps=40, n=4)
    fine = attention_quadrature(K, Q, V, m, cov, z, dps=40, n=70)
    assert min(_digits(a, f) for a, f in zip(auto, fine)) >= 38
    assert min(_digits(c, f) for c, f in zip(coarse, fine)) < 10  # too few nodes is visibly wrong


# --------------------------------------------------------------------------- float version


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_attention_quadrature_float_agrees_with_mp_in_2d(seed):
    K, Q, V, m, cov, z = _random_params(2, seed)
    exact = np.array([float(t) for t in attention_quadrature(K, Q, V, m, cov, z, dps=40)])
    approx = attention_quadrature_float(K, Q, V, m, cov, z)
    assert approx.shape == (2,) and approx.dtype == np.float64
    assert np.allclose(approx, exact, rtol=1e-12, atol=1e-12 * np.abs(exact).max())


def test_attention_quadrature_float_decouples_in_8d():
    # Diagonal K, Q, V, Gamma: the 8-d definition factorises into 8 one-dimensional ones (checked in mp).
    rng = np.random.default_rng(21)
    k, q, v, m, var, z = rng.normal(0.0, 0.5, 8), rng.normal(0.0, 0.5, 8), rng.normal(size=8), rng.normal(size=8), \
        rng.uniform(0.5, 2.0, 8), rng.normal(size=8)
    got = attention_quadrature_float(np.diag(k), np.diag(q), np.diag(v), m, np.diag(var), z)
    ref = [float(attention_quadrature([[k[i]]], [[q[i]]], [[v[i]]], [m[i]], [[var[i]]], [z[i]], dps=20)[0])
           for i in range(8)]
    assert np.allclose(got, ref, rtol=1e-12, atol=1e-13)


def test_attention_quadrature_float_large_slope():
    # slopes b = 6.3 and b = 50.4: the tilted mass sits far in the tail of any Gauss-Hermite rule;
    # the trapezoid rule on a window around the whole real line resolves both.  Reference: mpmath.quad
    # of the 1-D definition, split around the bulk of the tilted mass.
    for K, z in ((3.0, 0.7), (8.0, 2.1)):
        b = K * 3.0 * z
        with mp.workdps(30):
            weight = lambda g: mp.exp(b * g - g * g / 2)  # noqa: E731
            pts = [-mp.inf, b - 12, b, b + 12, mp.inf]
            ref = mp.quad(lambda g: g * weight(g), pts) / mp.quad(weight, pts)
        got = attention_quadrature_float([[K]], [[3.0]], [[1.0]], [0.0], [[1.0]], [z])
        assert np.isfinite(got).all()
        assert abs(got[0] - float(ref)) <= 1e-12 * abs(float(ref)), (K, z, got, ref)


def test_attention_quadrature_float_coarse_step_is_visibly_wrong():
    # steps coarser than 1/4 are refused: the rule would no longer be accurate to float64
    with pytest.raises(ValueError, match=r"^step:"):
        attention_quadrature_float([[3.0]], [[3.0]], [[1.0]], [0.0], [[1.0]], [0.7], step=1.0)


def test_mpmath_matrix_inputs_accepted():
    K, Q, V, m, cov, z = _random_params(2, 6)
    as_mp = [mp.matrix(np.atleast_2d(a).tolist()) for a in (K, Q, V)] + [mp.matrix(list(m)), mp.matrix(cov.tolist()),
                                                                           mp.matrix(list(z))]
    assert attention_quadrature(*as_mp, dps=30) == attention_quadrature(K, Q, V, m, cov, z, dps=30)
    assert np.array_equal(attention_quadrature_float(*as_mp), attention_quadrature_float(K, Q, V, m, cov, z))




def test_within_tilt_keeps_a_point_within_the_node_budget():
    from verify.numerics.quadrature import MAX_NODES, nodes_needed, whitened_tilt, within_tilt

    K, Q, V, m, cov, z = _random_params(2, 8)
    p = {"K": 3 * K, "Q": 3 * Q, "V": V, "m": m, "Gamma": cov, "z": 4 * z}
    tilt = whitened_tilt(p["K"], p["Q"], p["Gamma"], p["z"])
    assert nodes_needed(tilt, 40, 2) > MAX_NODES  # too steep for the 40-digit rule
    q = within_tilt(p, 6.0)
    assert abs(whitened_tilt(q["K"], q["Q"], q["Gamma"], q["z"]) - 6.0) < 1e-12 and np.allclose(q["z"] / p["z"], 6.0 / tilt)
    attention_quadrature(*(q[k] for k in ("K", "Q", "V", "m", "Gamma", "z")), dps=40)  # now within the budget
    assert within_tilt(q, 10.0) is q  # a point within the bound is returned as is
    with pytest.raises(ValueError, match="^cov:"):
        whitened_tilt(K, Q, [[1.0, 2.0], [2.0, 1.0]], z)
    with pytest.raises(ValueError, match="^max_tilt:"):
        within_tilt(p, -1.0)
