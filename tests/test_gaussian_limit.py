"""Lemma 2.1 beyond the registered evidence: every check must be able to fail on a wrong formula."""

import mpmath
import numpy as np
import pytest
import sympy as sp

import verify
from proofs import gaussian_limit as gl
from proofs import linear_limit as ll
from verify.kernel.runner import run_check
from verify.kernel.compare import digits_between as agreeing_digits
from verify.kernel.claim import check_formula



def _wrong_numpy(K, Q, V, m, G, z):
    return V @ m + V @ G @ K @ Q @ z  # K instead of K^T


def _run(statement, check, mutant=None, seed=0):
    return run_check(statement, check, seed=seed, mutant=mutant)


# ----------------------------------------------------------- every check fails on each of its mutants


@pytest.mark.parametrize("statement, check", [(gl.LEMMA, c) for c in gl.LEMMA.checks] + [(ll.COMPANION, c) for c in ll.COMPANION.checks]
                         + [(gl.LEMMA, a.check) for a in gl.LEMMA.assumptions],
                         ids=lambda x: getattr(x, "name", getattr(x, "id", "")))
def test_every_check_passes_and_catches_each_mutant(statement, check):
    assert check.mutants, f"{check.name} declares no mutant"
    ev = _run(statement, check)
    assert ev.passed, ev.detail
    for m in check.mutants:
        bad = _run(statement, check, m.name)
        assert bad.caught, f"{check.name} stayed green on {m.name}: {bad.detail}"


def test_check_names_and_kinds_unchanged():
    assert [(c.name, c.kind) for c in gl.LEMMA.checks] == [
        ("quadrature", "quadrature"), ("certified", "certified"), ("monte-carlo", "montecarlo"),
        ("float64", "float64"), ("rademacher-rejected", "negative-control"), ("numpy-kernel", "float64"),
        ("references", "float64")]
    assert [(c.name, c.kind) for c in ll.COMPANION.checks] == [
        ("quadrature", "quadrature"), ("differs-when-uncentred", "negative-control"), ("numpy-kernel", "float64")]


@pytest.mark.parametrize("check", [gl.MONTE_CARLO, gl.FLOAT64], ids=lambda c: c.name)
def test_float_subjects_are_the_sympy_conclusion(check):
    """The float64 subjects are the registered SymPy closed form evaluated by numpy, not a second copy of it."""
    from verify.numerics.closed_form import evaluate_closed_form_float

    p = gl.MC_POINTS[0]
    assert np.array_equal(check.subject(p), evaluate_closed_form_float(gl.SOFTMAX_LIMIT, gl.SYMBOLS, p))
    assert gl.RADEMACHER_REJECTED.subject(gl.RADEMACHER).tolist() == [2.0]  # V m + V Gamma K^T Q z at m = 0, Gamma = 1


def test_a_slip_made_in_the_conclusion_fails_the_numeric_checks():
    """A wrong conclusion (K for K^T) evaluated the way the checks evaluate the statement fails them all."""
    wrong = gl.WRONG_FORMS["K for K^T"]
    for check, subject in ((gl.QUADRATURE, gl._as_closed_form(wrong)), (gl.FLOAT64, gl._as_float(wrong)),
                           (gl.MONTE_CARLO, gl._as_float(wrong))):
        assert not check.score(check.prepare(np.random.default_rng(0)), subject).passed, check.name


def test_figures_at_least_as_strong():
    assert _run(gl.LEMMA, gl.QUADRATURE).figure >= 40
    assert _run(gl.LEMMA, gl.CERTIFIED).figure >= 51
    assert _run(ll.COMPANION, ll.QUADRATURE).figure >= 40


def test_monte_carlo_resolves_one_percent():
    """1.01 x the closed form is rejected at |z| > 5: the check states and has the power to see a 1% error."""
    ev = _run(gl.LEMMA, gl.MONTE_CARLO, "1% too large")
    assert ev.caught and ev.figure > 5 and "smallest detectable relative error" in ev.detail
    power = float(ev.detail.split("smallest detectable relative error ")[1].split()[0])
    assert power <= 0.01


def test_monte_carlo_underpowered_check_fails():
    """z_test(resolve=0.01) with too few prompts cannot see 1%: it must fail, not pass silently."""
    from verify.numerics.attention import softmax_batch_means
    from verify.kernel.evidence import z_test
    from verify.numerics.measures import Gaussian
    from verify.numerics.montecarlo import mean_estimate

    def small(p, rng):
        means = softmax_batch_means(Gaussian(p["m"], p["Gamma"]), p["K"], p["Q"], p["V"], p["z"], 100, 40, rng, 20)
        return [mean_estimate(c) for c in means.T]

    chk = z_test("small", gl._as_float(gl.SOFTMAX_LIMIT), small, gl.MC_POINTS, resolve=0.01, mutants=[])
    out = chk.outcome(np.random.default_rng(0))
    assert not out.passed and "UNDERPOWERED" in out.detail


def test_monte_carlo_rejects_a_slip_it_does_not_declare():
    prepared = gl.MONTE_CARLO.prepare(np.random.default_rng(1))
    out = gl.MONTE_CARLO.score(prepared, lambda p: _wrong_numpy(*gl._args(p)))
    assert not out.passed, out.detail


def test_differs_when_uncentred_asserts_the_centred_agreement():
    """A wrong linear limit that differs from softmax attention at m = 0 fails, and says the centred points did it."""
    chk = ll.DIFFERS_WHEN_UNCENTRED
    wrong_at_zero = _run(ll.COMPANION, chk, "linear limit differs at m = 0 (K for K^T)")
    assert wrong_at_zero.caught and "centred" in wrong_at_zero.detail
    equal_to_softmax = _run(ll.COMPANION, chk, "linear limit equal to the softmax one")
    assert equal_to_softmax.caught and equal_to_softmax.figure < 0


# ----------------------------------------------------------- derivations: connected, slips fail


def _results(d):
    return dict(zip(d.labels(), d.check()))


def test_all_derivations_pass_and_are_connected():
    for st in (gl.LEMMA, ll.COMPANION):
        for d in st.built_derivations():
            assert d.connected().passed
            bad = [(lab, r.detail) for lab, r in _results(d).items() if not r.passed]
            assert not bad, (d.name, bad)


def _plant(d, label, rhs):
    """A copy of derivation ``d`` whose step ``label`` has the right side ``rhs`` (later steps keep theirs)."""
    from verify.kernel.derivation import Derivation

    out = Derivation(d.name + " (planted)", d.start, start_tex=d.start_tex, conclusion=d.conclusion)
    for s in d.steps:
        out.step(rhs if s.label == label else s.rhs, s.why, check=s.relation, label=s.label)
    return out


def test_general_d_slip_K_for_KT_in_last_step_fails():
    wrong = sp.MatAdd(gl.V * gl.m, gl.V * gl.Gamma * gl.K * gl.Q * gl.z, evaluate=False)
    r = _results(_plant(gl.derivation_general(), "substitute-a", wrong))
    assert not r["substitute-a"].passed and not r["ends-at-conclusion"].passed


def test_general_d_wrong_substitution_fails():
    """A consistent slip in the declared substitution itself (a = K Q z) is caught at the substitution step."""
    from verify.kernel.derivation import equal_given

    d = gl.derivation_general()
    last = d.steps[-1]
    d.steps[-1] = type(last)(last.lhs, last.rhs, last.why, equal_given({gl.a: gl.K * gl.Q * gl.z}), label=last.label)
    assert not d.check()[-2].passed


def test_missing_half_in_the_mgf_rule_fails_a_step_and_its_own_check():
    wrong = gl.gaussian_mgf_assumption(gl.a.T * gl.m + gl.a.T * gl.Gamma * gl.a)
    r = _results(gl.derivation_general(mgf=wrong))
    assert not r["gaussian-log-mgf"].passed
    assert not wrong.check.outcome(np.random.default_rng(0)).passed


def test_explicit_d2_slip_K_for_KT_fails():
    d = gl.derivation_entries(2)
    e = gl.explicit(2)
    wrong = e["V"] * e["m"] + e["V"] * e["Gamma"] * e["K"] * e["Q"] * e["z"]
    r = _results(_plant(d, "apply-V", wrong))
    assert not r["apply-V"].passed and not r["ends-at-conclusion"].passed
    c_wrong = e["m"] + e["Gamma"] * e["K"] * e["Q"] * e["z"]
    r = _results(_plant(d, "gaussian-mean", c_wrong))
    assert not r["gaussian-mean"].passed


def test_companion_is_derived_not_typed():
    d = ll.derivation_companion(2)
    assert d.steps[0].relation.name.startswith(r"$\mathbb E")  # the Isserlis map computes the expectation
    e = ll._explicit(2)
    wrong = e["Gamma"] * e["K"].T * e["Q"] * e["z"]  # m m^T dropped
    r = _results(_plant(d, "isserlis", wrong))
    assert not r["isserlis"].passed  # the expectation is machine-computed: a typed wrong one is refuted
    wrong_diff = ll.V * ll.m * (sp.Identity(1) + ll.m.T * ll.K.T * ll.Q * ll.z)
    r = _results(_plant(ll.derivation_difference(), "factor", wrong_diff))
    assert not r["factor"].passed and not r["ends-at-conclusion"].passed


def test_gaussian_mean_relation_can_fail():
    from verify.numerics.measures import gaussian_mean_of_log_density, is_gaussian_mean_of_log_density

    x, y, c = sp.symbols("x y c")
    q = -((x - c) ** 2 + (y - 1) ** 2 + x * y) / 2
    mean = gaussian_mean_of_log_density(q, [x, y])
    assert is_gaussian_mean_of_log_density(q, list(mean), [x, y])[0]
    assert not is_gaussian_mean_of_log_density(q, [c, 1], [x, y])[0]
    assert not is_gaussian_mean_of_log_density(-x**4, [0], [x])[0]
    with pytest.raises(ValueError, match="quadratic"):
        gaussian_mean_of_log_density(-x**4, [x])


# ----------------------------------------------------------- engine helpers added for these statements


def test_engine_mgf_and_tilted_mean_helpers():
    from mpmath import mp

    from verify.numerics.measures import Discrete, Gaussian
    from verify.numerics.quadrature import log_mgf, log_mgf_gradient, tilted_mean

    mu = Discrete([[0.0, 1.0], [1.0, -0.5], [2.0, 0.3]], [0.5, 0.25, 0.25])
    K, Q, z = np.eye(2), np.eye(2), np.array([0.3, -0.2])
    with mp.workdps(30):
        tm, g = tilted_mean(mu, K, Q, z, 30), log_mgf_gradient(mu, z, 30)
        assert max(abs(u - v) for u, v in zip(tm, g)) < mp.mpf("1e-28")
        gM = log_mgf_gradient(mu, z, 30, log=False)
        assert max(abs(u - v) for u, v in zip(tm, gM)) > 1e-3  # the gradient of M is not the tilted mean
        G = Gaussian([0.5, -1.0], [[1.0, 0.2], [0.2, 0.5]])
        a = [0.4, 0.3]
        exact = 0.4 * 0.5 - 0.3 + (0.16 * 1.0 + 2 * 0.12 * 0.2 + 0.09 * 0.5) / 2
        assert abs(log_mgf(G, a, 30) - mp.mpf(exact)) < 1e-14  # (the float64 inputs bound this comparison)
    with pytest.raises(TypeError, match="measure"):
        log_mgf(object(), [0.1], 20)


def test_softmax_batch_means_validates_and_is_reproducible():
    from verify.numerics.attention import softmax_batch_means
    from verify.numerics.measures import Gaussian

    mu = Gaussian([0.0], [[1.0]])
    one = softmax_batch_means(mu, [[1.0]], [[1.0]], [[1.0]], [1.0], 50, 40, np.random.default_rng(3), 20)
    two = softmax_batch_means(mu, [[1.0]], [[1.0]], [[1.0]], [1.0], 50, 40, np.random.default_rng(3), 20)
    assert np.array_equal(one, two) and one.shape == (20, 1)
    with pytest.raises(ValueError, match="prompts"):
        softmax_batch_means(mu, [[1.0]], [[1.0]], [[1.0]], [1.0], 50, 41, np.random.default_rng(3), 20)
    with pytest.raises(ValueError, match="z"):
        softmax_batch_means(mu, [[1.0]], [[1.0]], [[1.0]], [1.0, 2.0], 50, 40, np.random.default_rng(3), 20)


def test_discrete_measure_validates():
    from verify.numerics.measures import Discrete

    with pytest.raises(ValueError, match="weights"):
        Discrete([[0.0], [1.0]], [0.7, 0.7])
    with pytest.raises(ValueError, match="weights"):
        Discrete([[0.0], [1.0]], [1.5, -0.5])


def test_psd_covariance_supported():
    """Lemma 2.1 holds for every PSD Gamma: check a rank-one covariance against Monte Carlo."""
    rng = np.random.default_rng(5)
    G = np.array([[1.0, 1.0], [1.0, 1.0]])
    K, Q, V = 0.5 * np.eye(2), np.eye(2), np.eye(2)
    m, z = np.array([0.2, -0.1]), np.array([0.5, 0.3])
    target = verify.gaussian_limit(K, Q, V, m, G, z)
    quad = verify.attention_quadrature(K, Q, V, m, G, z, dps=30)
    with mpmath.mp.workdps(30):
        closed = gl.closed_form(gl.SOFTMAX_LIMIT, dict(K=K, Q=Q, V=V, m=m, Gamma=G, z=z))
        assert agreeing_digits(closed, mpmath.matrix(quad)) >= 25
    mu = verify.Gaussian(m, G, allow_singular=True)
    outs = np.array([verify.softmax_attention(mu.sample(5000, rng), z, K, Q, V) for _ in range(200)])
    zs = (outs.mean(0) - target) / (outs.std(0, ddof=1) / np.sqrt(200))
    print("z:", zs)
    assert np.all(np.abs(zs) <= 5)


@pytest.mark.parametrize("spec", [gl.SOFTMAX_CLAIM, ll.LINEAR_CLAIM], ids=lambda s: s.id)
def test_claim_examples(spec):
    assert check_formula(spec, spec.example).accepted
    for wrong in spec.wrong_examples:
        verdict = check_formula(spec, wrong)
        assert not verdict.accepted and verdict.worst_error > 10 * spec.tolerance, wrong


@pytest.mark.parametrize("formula", ["V*(m + Gamma*K.T*Q*z)", "V*(Gamma*(Q.T*K).T*z + m)",
                                     "(2*V*m + V*Gamma*K.T*Q*z*2)/2", "V*Gamma*Gamma**-1*m + V*Gamma*K.T*Q*z"])
def test_equivalent_rewritings_accepted(formula):
    v = verify.check_claim("gaussian-limit", formula)
    assert v.accepted and v.worst_error < 1e-30


@pytest.mark.parametrize("formula, words", [("V*m +", "parse"), ("V*Gamma", "shape"), ("V*x", "unknown"),
                                            ("m.T*z", "scalar"), ("", "empty"), ("sin(z)", "sin")])
def test_bad_formulas_raise(formula, words):
    with pytest.raises(ValueError, match="formula") as err:
        verify.check_claim("gaussian-limit", formula)
    assert words in str(err.value)


# ------------------------------------------------------------------ property test (hypothesis)

from hypothesis import given, settings, strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402


@st.composite
def lemma_inputs(draw, max_dim=6):
    """Valid inputs of Lemma 2.1: any K, Q, V; Gamma = A A^T + I/2 (SPD); moderate entries."""
    d = draw(st.integers(1, max_dim))
    entries = st.floats(-1, 1, allow_nan=False, allow_infinity=False)
    K, Q, V, A = (draw(arrays(float, (d, d), elements=entries)) for _ in range(4))
    m, z = (draw(arrays(float, (d,), elements=st.floats(-2, 2))) for _ in range(2))
    return K, Q, V, m, A @ A.T / d + 0.5 * np.eye(d), z


@settings(max_examples=60, deadline=None)
@given(lemma_inputs())
def test_lemma_holds_on_generated_inputs(args):
    K, Q, V, m, G, z = args
    ref = verify.attention_quadrature_float(K, Q, V, m, G, z)
    got = verify.gaussian_limit(K, Q, V, m, G, z)
    assert np.max(np.abs(got - ref)) <= 1e-9 * max(1.0, np.max(np.abs(ref)))


@settings(max_examples=30, deadline=None)
@given(lemma_inputs(max_dim=3))
def test_linear_form_differs_exactly_by_Vm(args):
    """T - T_lin = V m (1 - m^T K^T Q z) on generated inputs (the companion's difference step, in float64)."""
    K, Q, V, m, G, z = args
    gap = verify.gaussian_limit(K, Q, V, m, G, z) - verify.linear_limit(K, Q, V, m, G, z)
    assert np.allclose(gap, V @ m * (1 - m @ K.T @ Q @ z), atol=1e-10)


def test_certified_check_needs_containment_and_width():
    ev = _run(gl.LEMMA, gl.CERTIFIED, "K for K^T")
    assert ev.caught and "OUTSIDE" in ev.detail
    tiny = _run(gl.LEMMA, gl.CERTIFIED, "1e-40 relative offset")  # only narrow balls can see this
    assert tiny.caught and "OUTSIDE" in tiny.detail


def test_certified_enclosure_names_bad_input():
    from verify.numerics.certified import attention_enclosure

    with pytest.raises(ValueError, match="prec"):
        attention_enclosure(np.eye(1), np.eye(1), np.eye(1), [0.0], [[1.0]], [1.0], prec=10)
    with pytest.raises(ValueError, match="cov"):
        attention_enclosure(np.eye(2), np.eye(2), np.eye(2), [0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]], [1.0, 0.0])
