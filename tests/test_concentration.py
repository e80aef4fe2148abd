"""The concentration engine of Props 3.1 / 3.4 (arXiv 2512.11784): Monte Carlo of Props 3.1 / 3.4, the exact Gaussian reduction, the tilted
moments and gradients, validated against independent references; every comparison also shown failing on a planted
mutant.  The full MC-vs-exact grid is opt-in (``--verify-slow``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from verify.numerics.attention import softmax_attention
from verify.concentration.montecarlo import (
    boundary_witness,
    concentration_error,
    concentration_error_gaussian,
    concentration_error_grad,
    concentration_error_linear,
    concentration_error_linear_gaussian,
    empirical_gradients,
    gaussian_method_error,
    naive_concentration_error,
    tilted_moments,
    true_gradients,
    true_output,
)
from verify.concentration.exact import gaussian_curve
from verify.kernel.evidence import Mutant, z_test
from verify.numerics.measures import Discrete, GaussianMixture, Rademacher, UniformCube, isotropic_gaussian
from verify.numerics.montecarlo import fit_rate, stream


def _rot(theta):
    return np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])


V2 = np.array([[1.0, 0.5], [0.0, 2.0]])
U2 = 0.8 * _rot(0.7)


# ------------------------------------------------------------------------------------------ the exact method vs MC


def _exact_subject(center=1.0, cross=True, factor=1.0):
    """The exact curve of a grid point (the subject); the keyword arguments plant mutants."""

    def subject(p):
        d, s, U, V = p["d"], p["sigma"], p["U"], p["V"]
        if center == 1.0 and cross:
            return factor * concentration_error_gaussian(s, U, V, p["Ls"])
        v2 = float(np.sum(V * V))
        u = abs(float(U[0, 0])) if d == 1 else math.sqrt(float(np.trace(U @ U.T)) / d)
        c = center if not callable(center) else center(s)
        return factor * gaussian_curve(s, u, v2, d, p["Ls"], center=c, cross=cross)

    return subject


def _mc_reference(p, rng):
    """Brute-force Monte Carlo of the definition (tokens sampled), one estimate per L, prepared once by the check
    (the seeds are drawn from ``rng`` first)."""
    seeds = [int(rng.integers(2**63)) for _ in p["Ls"]]
    mu = isotropic_gaussian(p["sigma"], p["d"])
    scales = p.get("query_scale", [1.0] * len(p["Ls"]))
    return [concentration_error(mu, p["U"], p["V"], L, n, np.random.SeedSequence(sd), queries=q, query_scale=qs)
            for L, n, q, qs, sd in zip(p["Ls"], p["prompts"], p["queries"], scales, seeds)]


def _validation_check(points, slow=False):
    return z_test(
        "exact Gaussian curve = Monte Carlo of E||T[mu_L] - T[mu]||^2",
        subject=_exact_subject(),
        estimate=_mc_reference,
        points=points,
        mutants=[
            Mutant("exact curve x 1.05", _exact_subject(factor=1.05)),
            Mutant("T[mu] = sigma V U z (sigma for sigma^2)", _exact_subject(center=lambda s: 1.0 / s)),
            Mutant("no L(L-1) cross term", _exact_subject(cross=False)),
        ],
        slow=slow,
    )


FAST_POINTS = [
    {"label": "sigma=0.5 d=1 u=1", "sigma": 0.5, "d": 1, "U": np.eye(1), "V": np.eye(1),
     "Ls": [10, 100, 1000], "prompts": [40000, 20000, 4000], "queries": [1, 1, 4]},
    {"label": "sigma=2 d=2 U=0.8R V=[[1,.5],[0,2]]", "sigma": 2.0, "d": 2, "U": U2, "V": V2,
     "Ls": [10, 100, 1000], "prompts": [20000, 8000, 2000], "queries": [1, 2, 8]},
]


def test_exact_agrees_with_monte_carlo_fast_grid():
    chk = _validation_check(FAST_POINTS)
    prepared = chk.prepare(stream(0, "concentration", "exact-vs-mc"))  # the Monte Carlo, once for every subject
    out = chk.score(prepared, chk.subject)
    print(out.detail)
    assert out.passed, out.detail
    for m in chk.mutants[:2]:  # the third (no cross term) costs two more curves: in the slow grid
        bad = chk.score(prepared, m.subject)
        print(m.name, bad.detail)
        assert not bad.passed, f"mutant {m.name!r} not caught: {bad.detail}"


@pytest.mark.slow
def test_exact_agrees_with_monte_carlo_full_grid(request):
    if not request.config.getoption("--verify-slow"):
        pytest.skip("full grid: run with --verify-slow")
    Ls = [10, 100, 1000, 10**4, 10**5]
    points = []
    for d in (1, 2):
        for s in (0.5, 1.0, 1.5, 2.0):
            U, V = (np.eye(1), np.eye(1)) if d == 1 else (U2, V2)
            points.append({"label": f"sigma={s} d={d}", "sigma": s, "d": d, "U": U, "V": V, "Ls": Ls,
                           "prompts": [20000, 8000, 2000, 400, 200], "queries": [1, 2, 8, 16, 16],
                           "query_scale": [1.0, 1.5, 2.0, 2.0, 2.0]})
    chk = _validation_check(points, slow=True)
    prepared = chk.prepare(stream(0, "concentration", "exact-vs-mc-full"))
    out = chk.score(prepared, chk.subject)
    print(out.detail)
    _print_table(prepared)
    assert out.passed, out.detail
    for m in chk.mutants:
        bad = chk.score(prepared, m.subject)
        print(m.name, bad.detail)
        assert not bad.passed, m.name


@pytest.mark.slow
def test_exact_d4_against_monte_carlo(request):
    if not request.config.getoption("--verify-slow"):
        pytest.skip("run with --verify-slow")
    O, _ = np.linalg.qr(np.random.default_rng(4).standard_normal((4, 4)))
    V = np.random.default_rng(5).standard_normal((4, 4))
    points = [{"label": "sigma=1 d=4 U=0.7 O", "sigma": 1.0, "d": 4, "U": 0.7 * O, "V": V,
               "Ls": [10, 100, 1000, 10**4], "prompts": [20000, 8000, 2000, 400], "queries": [1, 2, 8, 16],
               "query_scale": [1.0, 1.5, 1.5, 1.5]}]
    chk = _validation_check(points, slow=True)
    prepared = chk.prepare(stream(0, "concentration", "exact-vs-mc-d4"))
    out = chk.score(prepared, chk.subject)
    _print_table(prepared)
    assert out.passed, out.detail
    assert not chk.score(prepared, chk.mutant_named("exact curve x 1.05").subject).passed


def _print_table(prepared):
    """The slow grids as measured (visible with -s): exact value, MC mean +- stderr, z, ESS, top-1% share: the
    prepared Monte Carlo estimates beside the exact curve (computed again here, a diagnostic)."""
    for p, ests in prepared:
        curve = concentration_error_gaussian(p["sigma"], p["U"], p["V"], p["Ls"])
        for L, ex, est in zip(p["Ls"], curve, ests):
            print(f"{p['label']:<12} L={L:<7} exact {ex:.6g}  mc {est.mean:.6g} +- {est.stderr:.2g}  "
                  f"z {est.z(ex):+.2f}  rel.se {est.stderr / ex:.3f}  ESS {est.ess:.3g} (min {est.ess_min:.3g})  "
                  f"top1% {est.top1_share:.2f}")


def test_exact_closed_cases():
    # U = 0: uniform weights, E = sigma^2 |V|_F^2 / L exactly; L = 1: E = sigma^2 |V|_F^2 + sigma^4 |V U|_F^2
    assert np.allclose(concentration_error_gaussian(1.5, np.zeros((2, 2)), V2, [1, 7, 10**12]),
                       1.5**2 * np.sum(V2 * V2) / np.array([1, 7, 1e12]), rtol=1e-14, atol=0)
    want = 1.5**2 * np.sum(V2 * V2) + 1.5**4 * np.sum((V2 @ U2) ** 2)
    assert concentration_error_gaussian(1.5, U2, V2, 1) == pytest.approx(want, rel=1e-12)
    assert isinstance(concentration_error_gaussian(1.0, [[0.0]], [[1.0]], 10), float)


def test_per_query_moments_reach_the_clt_limit():
    # L = 10^40 >> e^{tau^2}: self-normalised importance sampling is in its CLT regime, F = e^{tau^2}(1+tau^2)/L and
    # G = e^{tau^2}/L up to O(1/L^2): an independent asymptotic reference for the far end of the exact reduction
    from verify.concentration.exact import per_query_moments

    for tau in (0.05, 0.3, 1.0, 2.0, 3.0):
        F, G = per_query_moments(tau, [1e40])
        e = math.exp(tau * tau)
        assert F[0] * 1e40 / (e * (1 + tau * tau)) == pytest.approx(1.0, abs=1e-12)
        assert G[0] * 1e40 / e == pytest.approx(1.0, abs=1e-12)
    Fm, _ = per_query_moments(1.0, [1e40], center=0.9)  # planted: T[mu] off by 10%
    assert abs(Fm[0] * 1e40 / (2 * math.e) - 1.0) > 1e-3


def test_general_2d_path_reduces_to_the_radial_one():
    # U = u R: |U w| = u for every angle, and two orthogonal angles already average |V a_hat|^2 to |V|_F^2 / 2,
    # so the angular rule with n_theta = 2 must give the radial curve (one angle does not: it fails)
    from verify.concentration.exact import gaussian_curve_2d

    Ls = [10]
    radial = concentration_error_gaussian(0.5, U2, V2, Ls)
    general = gaussian_curve_2d(0.5, U2, V2, np.array(Ls, dtype=float), n_theta=2)
    assert np.allclose(general, radial, rtol=1e-13, atol=0)
    one = gaussian_curve_2d(0.5, U2, V2, np.array(Ls, dtype=float), n_theta=1)
    assert not np.allclose(one, radial, rtol=1e-3, atol=0)


@pytest.mark.slow
def test_exact_general_2d_against_monte_carlo(request):
    # U = diag(1, 0.5): not a multiple of an orthogonal matrix; the angular rule against brute-force MC
    if not request.config.getoption("--verify-slow"):
        pytest.skip("run with --verify-slow")
    points = [{"label": "sigma=1 d=2 U=diag(1,.5)", "sigma": 1.0, "d": 2, "U": np.diag([1.0, 0.5]), "V": V2,
               "Ls": [10, 100, 1000, 10**4], "prompts": [20000, 8000, 2000, 400], "queries": [1, 2, 8, 16],
               "query_scale": [1.0, 1.5, 1.5, 1.5]}]
    chk = z_test("exact (angular rule) = MC", subject=lambda p: concentration_error_gaussian(
                     p["sigma"], p["U"], p["V"], p["Ls"]), estimate=_mc_reference, points=points,
                 mutants=[Mutant("exact x 1.05", lambda p: 1.05 * concentration_error_gaussian(
                     p["sigma"], p["U"], p["V"], p["Ls"]))], slow=True)
    out = chk.outcome(stream(0, "concentration", "exact-vs-mc-2d"))
    print(out.detail)
    assert out.passed, out.detail
    assert not chk.outcome(stream(0, "concentration", "exact-vs-mc-2d"), mutant="exact x 1.05").passed


def test_exact_refuses_unsupported_input():
    with pytest.raises(ValueError, match="U:"):
        concentration_error_gaussian(1.0, np.diag([1.0, 2.0, 3.0]), np.eye(3), 10)
    with pytest.raises(ValueError, match="L:"):
        concentration_error_gaussian(1.0, np.eye(1), np.eye(1), 0)
    with pytest.raises(ValueError, match="L:"):
        concentration_error_gaussian(1.0, np.eye(1), np.eye(1), [10, 2.5])
    with pytest.raises(ValueError, match="sigma:"):
        concentration_error_gaussian(-1.0, np.eye(1), np.eye(1), 10)
    with pytest.raises(ValueError, match="accuracy:"):
        concentration_error_gaussian(1.0, np.eye(1), np.eye(1), 10, accuracy="coarse")


@pytest.mark.slow
def test_method_error_to_1e12(request):
    if not request.config.getoption("--verify-slow"):
        pytest.skip("run with --verify-slow")
    err = gaussian_method_error(1.0, np.eye(1), np.eye(1), [10.0**k for k in range(2, 13)])
    print("method error", err)
    assert np.max(err) < 1e-8


# ------------------------------------------------------------------------------------------ Monte Carlo engine


def test_same_seed_same_bits_and_keys_differ():
    mu = UniformCube(2, 1.0)
    a = concentration_error(mu, U2, V2, 50, 40, 3)
    b = concentration_error(mu, U2, V2, 50, 40, 3)
    c = concentration_error(mu, U2, V2, 50, 40, np.random.SeedSequence(3, spawn_key=(1,)))
    assert (a.mean, a.stderr, a.ess, a.ess_min, a.top1_share) == (b.mean, b.stderr, b.ess, b.ess_min, b.top1_share)
    assert a.mean != c.mean
    kq = concentration_error(mu, None, V2, 50, 40, 3, K=np.eye(2), Q=U2)
    assert kq.mean == a.mean


def test_chunked_stream_is_the_same_estimate():
    # streamed in chunks of 7 tokens (running log-sum-exp rescaling) vs the straightforward numpy way (all L tokens
    # at once, one query at a time), independent seeds: the difference is 0 within |z| <= 5, and 15% is seen
    mu = UniformCube(1, 1.5)
    naive = naive_concentration_error(mu, [[1.0]], [[1.0]], 300, 12000, 12)
    for chunk in (7, None):
        est = concentration_error(mu, [[1.0]], [[1.0]], 300, 12000, 11, chunk=chunk)
        assert abs((est - naive).z(0.0)) < 5, (chunk, est, naive)
        assert abs((est - naive).z(0.15 * naive.mean)) > 5
        assert 1.0 <= est.ess_min <= est.ess <= 300 and 0.01 <= est.top1_share < 1


def test_monte_carlo_bad_input():
    mu = isotropic_gaussian(1.0, 2)
    with pytest.raises(TypeError, match="measure:"):
        concentration_error(np.eye(2), np.eye(2), np.eye(2), 10, 40, 0)
    with pytest.raises(ValueError, match="U:"):
        concentration_error(mu, np.eye(3), np.eye(2), 10, 40, 0)
    with pytest.raises(ValueError, match="L:"):
        concentration_error(mu, np.eye(2), np.eye(2), 0, 40, 0)
    with pytest.raises(ValueError, match="n_prompts:"):
        concentration_error(mu, np.eye(2), np.eye(2), 10, 41, 0)
    with pytest.raises(TypeError, match="seed:"):
        concentration_error(mu, np.eye(2), np.eye(2), 10, 40, None)
    with pytest.raises(ValueError, match="U:"):
        concentration_error(mu, np.eye(2), np.eye(2), 10, 40, 0, K=np.eye(2), Q=np.eye(2))
    with pytest.raises(ValueError, match="wrt:"):
        concentration_error_grad(mu, np.eye(2), np.eye(2), 10, 40, 0, wrt="K")
    with pytest.raises(ValueError, match="U:"):
        concentration_error(mu, [[np.nan, 0], [0, 1]], np.eye(2), 10, 40, 0)


def test_non_gaussian_measures_converge():
    # every measure: E -> 0 like ~1/L at small scale (U = 0.3 I), so the L = 10 -> 1000 drop is > 30x
    for mu in (Rademacher(2, 1.0), UniformCube(2, 1.0), GaussianMixture(2, 1.0), isotropic_gaussian(1.0, 2)):
        lo = concentration_error(mu, 0.3 * np.eye(2), np.eye(2), 10, 2000, 1)
        hi = concentration_error(mu, 0.3 * np.eye(2), np.eye(2), 1000, 400, 1, queries=4)
        assert hi.mean < lo.mean / 30, (mu, lo, hi)


# ------------------------------------------------------------------------------------------ gradients (Prop 3.4)


def test_gradients_at_U0_have_closed_forms():
    # U = 0: m_hat = token mean, C_hat = biased sample covariance;  E d|mean|^2 = d^2 s^2 / L,
    # E |C_hat - s^2 I|_F^2 |z|^2 = d s^4 ((d^2 + d)(L - 1) + d) / L^2  (Wishart)
    s, d, L = 1.3, 2, 8
    mu = isotropic_gaussian(s, d)
    gv = concentration_error_grad(mu, np.zeros((d, d)), np.eye(d), L, 20000, 5, wrt="V")
    gu = concentration_error_grad(mu, np.zeros((d, d)), np.eye(d), L, 20000, 5, wrt="U")
    want_v = d * d * s**2 / L
    want_u = d * s**4 * ((d * d + d) * (L - 1) + d) / L**2
    assert abs(gv.z(want_v)) < 5 and abs(gu.z(want_u)) < 5, (gv, want_v, gu, want_u)
    assert abs(gu.z(1.05 * want_u)) > 5 or abs(gv.z(1.05 * want_v)) > 5  # the check can see 5%


def test_grad_V_exact_against_monte_carlo():
    # d |m_hat - m|^2 = d x (output error with V = I): the exact curve against the MC of the gradient itself
    from verify.concentration.montecarlo import concentration_error_grad_gaussian

    s, U, Ls = 0.7, np.array([[1.0]]), [10, 100]
    exact = concentration_error_grad_gaussian(s, U, Ls)
    for L, n, ex in zip(Ls, [20000, 20000], exact):
        est = concentration_error_grad(isotropic_gaussian(s, 1), U, np.eye(1), L, n, 9, wrt="V")
        assert abs(est.z(ex)) < 5 and abs(est.z(1.1 * ex)) > 5, (L, est, ex)


def _fd_jacobians(f, U, V, h=1e-6):
    d = U.shape[0]
    out_v = np.zeros((d, d, d))
    out_u = np.zeros((d, d, d))
    for j in range(d):
        for k in range(d):
            E = np.zeros((d, d))
            E[j, k] = h
            out_v[:, j, k] = (f(U, V + E) - f(U, V - E)) / (2 * h)
            out_u[:, j, k] = (f(U + E, V) - f(U - E, V)) / (2 * h)
    return out_v, out_u


def _wrong_gradients(tokens, U, V, z):
    """Planted wrong derivative: the tilted *second moment* in place of the covariance."""
    gV, _ = empirical_gradients(tokens, U, V, z)
    s = tokens @ (U @ z)
    w = np.exp(s - s.max())
    w /= w.sum()
    M2 = (tokens * w[:, None]).T @ tokens
    return gV, np.einsum("ia,b->iab", V @ M2, z)


def test_empirical_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    tokens = 1.5 * rng.standard_normal((9, 2))
    z = np.array([0.7, -1.1])
    U = np.array([[0.4, -0.3], [0.2, 0.5]])
    f = lambda U_, V_: softmax_attention(tokens, z, np.eye(2), U_, V_)  # K = I, Q = U: K^T Q = U  # noqa: E731
    fv, fu = _fd_jacobians(f, U, V2)
    gv, gu = empirical_gradients(tokens, U, V2, z)
    assert np.max(np.abs(gv - fv)) < 1e-7 and np.max(np.abs(gu - fu)) < 1e-7
    _, bad = _wrong_gradients(tokens, U, V2, z)
    assert np.max(np.abs(bad - fu)) > 1e-2  # the planted wrong derivative fails the same comparison


@pytest.mark.parametrize("mu", [isotropic_gaussian(1.5, 2), Rademacher(2, 1.2), UniformCube(2, 1.1),
                                GaussianMixture(2, 1.3, direction=(1.0, 0.3)),
                                Discrete([[0.0, 1.0], [1.0, -2.0], [-1.0, 0.5]], [0.2, 0.5, 0.3])],
                         ids=lambda m: type(m).__name__)
def test_true_gradients_match_finite_differences(mu):
    z = np.array([0.9, -0.6])
    U = np.array([[0.4, -0.3], [0.2, 0.5]])
    f = lambda U_, V_: true_output(mu, U_, V_, z)  # noqa: E731
    fv, fu = _fd_jacobians(f, U, V2, h=1e-5)
    gv, gu = true_gradients(mu, U, V2, z)
    assert np.max(np.abs(gv - fv)) < 1e-7 and np.max(np.abs(gu - fu)) < 1e-7
    gu_wrong = np.swapaxes(gu, 1, 2)  # planted: (V C)_{ib} z_a instead of (V C)_{ia} z_b
    assert np.max(np.abs(gu_wrong - fu)) > 1e-3


def test_gaussian_gradients_are_lemma_2_1():
    # N(0, s^2 I): grad_V T . H = s^2 H U z, grad_U T . H = s^2 V H z
    s, z, H = 1.7, np.array([0.3, -2.0]), np.array([[0.2, -1.0], [0.5, 0.1]])
    gv, gu = true_gradients(isotropic_gaussian(s, 2), U2, V2, z)
    assert np.allclose(np.einsum("ijk,jk->i", gv, H), s**2 * H @ U2 @ z, rtol=1e-13)
    assert np.allclose(np.einsum("iab,ab->i", gu, H), s**2 * V2 @ H @ z, rtol=1e-13)


# ------------------------------------------------------------------------------------------ tilted moments


def test_tilted_moments_against_independent_sums_and_quadrature():
    a = np.array([[0.3, -1.7], [2.5, 0.01], [1e-4, -4.0]])
    # Rademacher: explicit sum over the 2^d atoms
    s = 1.3
    atoms = s * np.array([[i, j] for i in (-1, 1) for j in (-1, 1)], dtype=float)
    w = np.exp(a @ atoms.T)
    w /= w.sum(axis=1, keepdims=True)
    m, C = tilted_moments(Rademacher(2, s), a)
    assert np.allclose(m, w @ atoms, rtol=1e-13, atol=1e-15)
    cov = np.einsum("nk,ki,kj->nij", w, atoms, atoms) - m[:, :, None] * m[:, None, :]
    assert np.allclose(C, cov, rtol=1e-11, atol=1e-14)
    # uniform cube: Gauss-Legendre quadrature of x e^{a x} on [-c, c] per coordinate
    c = 1.1 * math.sqrt(3)
    t, gw = np.polynomial.legendre.leggauss(200)
    x = c * t
    e = np.exp(a[..., None] * x)
    mean_q = (e * gw * x).sum(-1) / (e * gw).sum(-1)
    var_q = (e * gw * x * x).sum(-1) / (e * gw).sum(-1) - mean_q**2
    m, C = tilted_moments(UniformCube(2, 1.1), a)
    assert np.allclose(m, mean_q, rtol=1e-12, atol=1e-14)
    assert np.allclose(np.diagonal(C, axis1=1, axis2=2), var_q, rtol=1e-9, atol=1e-12)
    assert not np.allclose(m, 1.1**2 * a, rtol=1e-3)  # not the Gaussian answer
    # mixture: 2-D Gauss-Hermite over each component
    mu = GaussianMixture(2, 1.4, fraction=0.6, direction=(1.0, -0.5))
    g, hw = np.polynomial.hermite_e.hermegauss(60)
    G = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    W = np.outer(hw, hw).ravel()
    pts = np.concatenate([mu.center + mu.component_sd * G, -mu.center + mu.component_sd * G])
    ww = np.concatenate([W, W])
    e = np.exp(a @ pts.T) * ww
    mean_q = e @ pts / e.sum(1, keepdims=True)
    m, C = tilted_moments(mu, a)
    assert np.allclose(m, mean_q, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------------------------ literal checks


def test_boundary_witness_L1():
    w = boundary_witness(c1=1e6, c2=0.01)
    assert w["left"] == 1.0 and w["right"] == 0.0 and abs(w["left_mc"].z(1.0)) < 5
    assert abs(w["left_mc"].z(0.9)) > 5  # the estimate can tell 1 from 0.9


def test_linear_attention_concentrates_at_one_over_L():
    mu = isotropic_gaussian(1.2, 2)
    Ls = [10, 100, 1000, 10000]
    ests = [concentration_error_linear(mu, U2, V2, L, n, 3, queries=q)
            for L, n, q in zip(Ls, [80000, 4000, 400, 80], [1, 4, 8, 8])]
    for L, est in zip(Ls, ests):
        want = concentration_error_linear_gaussian(1.2, U2, V2, L)
        assert abs(est.z(want)) < 5, (L, est, want)
    assert max(abs(est.z(1.1 * concentration_error_linear_gaussian(1.2, U2, V2, L))) for L, est in zip(Ls, ests)) > 5
    fit = fit_rate(Ls, ests)
    assert fit.interval[0] < -1.0 < fit.interval[1], fit


def test_the_concentration_engine_needs_no_kernel():
    """The domain computes; statements (their points, figures, mutants, checks) live in proofs/."""
    import ast
    from pathlib import Path

    import verify.concentration

    root = Path(verify.concentration.__file__).parent
    modules = sorted(root.glob("*.py"))
    assert {p.name for p in modules} >= {"montecarlo.py", "exact.py", "exponent.py"}
    for path in modules:
        tree = ast.parse(path.read_text())
        imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [m for m in imported if m.startswith(("verify.kernel", "proofs"))], path.name
        called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert not called & {"Mutant", "Check", "agreement", "bound", "z_test", "rate", "rejection"}, path.name


# ------------------------------------------------------------------------------------------ any Gaussian mixture


def test_a_general_mixture_takes_the_general_route_and_matches_the_quadrature_of_its_tilt():
    """Only the symmetric pair has a ``center``: a mixture with any components is tilted component by component
    (checked against the 30-digit tensor Gauss-Hermite of the definition) and sampled by its own sampler, and the
    symmetric pair written out as two components gives the fast path's numbers."""
    from verify.gaussian.mixture import mixture_attention_quadrature

    mu = GaussianMixture([0.3, 0.7], [[1.0, -0.5], [-0.4, 0.2]], [[[0.5, 0.1], [0.1, 0.3]], [[0.2, -0.05], [-0.05, 0.6]]])
    a = np.array([[0.3, -0.7], [1.1, 0.2], [-0.9, 0.8]])
    mean, _ = tilted_moments(mu, a)
    eye = np.eye(2)
    for row, got in zip(a, mean):
        want = [float(t) for t in mixture_attention_quadrature(eye, eye, eye, mu, row, dps=30)]
        assert np.allclose(got, want, rtol=1e-13, atol=1e-14)
    with pytest.raises(ValueError, match="center"):
        mu.center
    est = concentration_error(mu, 0.5 * eye, eye, 5, 400, 0)
    assert math.isfinite(est.mean) and est.mean > 0
    pair = GaussianMixture(2, 1.5, 0.4, [1.0, 0.5])
    spelled = GaussianMixture(pair.weights, pair.means, pair.covs)
    for got, want in zip(tilted_moments(spelled, a), tilted_moments(pair, a)):
        assert np.allclose(got, want, rtol=1e-13, atol=1e-14)
