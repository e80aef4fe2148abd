"""Softmax attention on a Gaussian mixture: the engine (verify/gaussian/mixture.py), the one mixture measure, the
statement (proofs/gaussian_mixture_limit.py), the claim, the formula grammar's exp/log, and ``verify mixture``."""

from __future__ import annotations

import json

import mpmath
import numpy as np
import pytest
import sympy as sp
from mpmath import mp

from proofs import gaussian_mixture_limit as gm
from verify.cli import main
from verify.gaussian.mixture import mixture_attention_enclosure, mixture_attention_quadrature, mixture_limit
from verify.kernel.claim import check_formula
from verify.kernel.derivation import Assumption, by
from verify.kernel.formula import Value, evaluate
from verify.kernel.registry import get_statement
from verify.kernel.runner import run_check
from verify.numerics.attention import softmax_batch_means
from verify.numerics.measures import GaussianMixture
from verify.numerics.quadrature import gaussian_expectation
from verify.studies.mixture import separation_study

MU2 = GaussianMixture([0.3, 0.7], [[0.5, -0.2], [-0.4, 0.6]], [[[1.0, 0.3], [0.3, 0.6]], [[0.5, -0.1], [-0.1, 0.8]]])
K2, Q2, V2 = np.array([[0.8, 0.3], [-0.4, 0.6]]), np.array([[0.7, -0.2], [0.3, 0.5]]), np.array([[1.0, 0.4], [-0.3, 0.9]])
Z2 = np.array([1.0, 0.8])
MU1 = GaussianMixture([0.3, 0.7], [[0.5], [-0.4]], [[[1.0]], [[0.5]]])


def formula_at(formula: str, p: dict, dps: int) -> mpmath.matrix:
    """A claim-grammar formula at a point (keys K, Q, V, z, mu), with the values the claim points carry."""
    with mp.workdps(dps):
        point = gm._claim_point((p["K"], p["Q"], p["V"], p["mu"], p["z"], [0.0] * p["mu"].dim), shared=False)
        v = evaluate(formula, {k: Value(x) for k, x in point.values.items()}).v
        return v if isinstance(v, mpmath.matrix) else mpmath.matrix([[v]])

# ------------------------------------------------------------------------------------------ formula: exp, log


def test_formula_exp_and_log_of_scalars():
    with mp.workdps(30):
        ns = {"a": Value(mpmath.matrix([[1], [2]])), "x": Value(mpmath.matrix([[0.5], [0.25]]))}
        assert evaluate("exp(a.T*x)", ns).v == mp.e
        assert abs(evaluate("log(exp(3)) - 3", ns).v) < mp.mpf("1e-28")


@pytest.mark.parametrize("formula, message", [
    ("exp(a)", "exp applies to scalars only"),
    ("log(a)", "log applies to scalars only"),
    ("log(0*a.T*x)", "log of a non-positive number"),
    ("log(-1)", "log of a non-positive number"),
    ("exp(exp(exp(50)))", "out of range"),
    ("exp(1, 2)", "exactly one is allowed"),
    ("exp", "without a call"),
    ("a.exp()", "refused"),
])
def test_formula_exp_log_bad_input_is_one_value_error(formula, message):
    ns = {"a": Value(mpmath.matrix([[1], [2]])), "x": Value(mpmath.matrix([[0.5], [0.25]]))}
    with mp.workdps(30), pytest.raises(ValueError, match=message):
        evaluate(formula, ns)


# ------------------------------------------------------------------------------------------ the engine


@pytest.mark.parametrize("kwargs, message", [
    (dict(weights=[0.5, 0.6], means=[[0.0], [1.0]], covs=[[[1.0]], [[1.0]]]), "weights: must sum to 1"),
    (dict(weights=[-0.5, 1.5], means=[[0.0], [1.0]], covs=[[[1.0]], [[1.0]]]), "weights: must be positive"),
    (dict(weights=[0.5, 0.5], means=[[0.0]], covs=[[[1.0]], [[1.0]]]), "means: expected 2 rows"),
    (dict(weights=[0.5, 0.5], means=[[0.0], [1.0]], covs=[[[1.0]]]), "covs: expected shape"),
    (dict(weights=[0.5, 0.5], means=[[0.0], [1.0]], covs=[[[1.0]], [[-1.0]]]), "covs\\[1\\]"),
    (dict(weights=[0.5, 0.5], means=[[0.0], [np.nan]], covs=[[[1.0]], [[1.0]]]), "means"),
])
def test_mixture_bad_input_names_the_parameter(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixture(**kwargs)


def test_one_mixture_measure_serves_the_symmetric_pair_and_general_components():
    """GaussianMixture(dim, scale, fraction) is the symmetric pair (1/2)N(m, s^2 I) + (1/2)N(-m, s^2 I) in the same
    weights/means/covs representation the quadrature and the closed form read: for d = 1, K = Q = V = 1 the
    closed form is s^2 z + |m| tanh(|m| z)."""
    pair = GaussianMixture(1, 1.0, 0.36)  # m = 0.6, s = 0.8
    assert pair.symmetric and pair.components == 2 and np.allclose(pair.means, [[0.6], [-0.6]])
    one = np.eye(1)
    expected = 0.64 * 0.7 + 0.6 * np.tanh(0.6 * 0.7)
    assert abs(mixture_limit(one, one, one, pair, [0.7])[0] - expected) < 1e-15
    with mp.workdps(30):
        assert abs(mixture_attention_quadrature(one, one, one, pair, [0.7], dps=30)[0] - mp.mpf(expected)) < 1e-15
    assert np.allclose(pair.cov, [[1.0]]) and np.allclose(pair.second_moment(), [[1.0]])
    assert np.allclose(MU2.second_moment() - np.outer(MU2.mean, MU2.mean), MU2.cov)
    with pytest.raises(ValueError, match="center: defined for the symmetric pair"):
        MU2.center
    with pytest.raises(ValueError, match="fraction"):
        GaussianMixture(2, 1.0, fraction=1.0)


def test_engine_functions_refuse_a_non_mixture_and_wrong_shapes():
    with pytest.raises(TypeError, match="mu"):
        mixture_limit(K2, Q2, V2, "mixture", Z2)
    with pytest.raises(ValueError, match="z"):
        mixture_attention_quadrature(K2, Q2, V2, MU2, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="mu: the certified enclosure is for d = 1"):
        mixture_attention_enclosure(K2, Q2, V2, MU2, Z2)


@pytest.mark.parametrize("call, message", [
    (lambda: mixture_attention_quadrature(K2, Q2, V2, MU2, [1.0, np.nan]), "z"),
    (lambda: mixture_attention_quadrature(np.eye(3), Q2, V2, MU2, Z2), "K"),
    (lambda: mixture_attention_quadrature(K2, Q2, V2, MU2, Z2, dps=0), "dps"),
    (lambda: mixture_attention_quadrature(K2, Q2, V2, MU2, 1e3 * Z2), "z: the whitened tilt"),
    (lambda: mixture_attention_enclosure([[1.0]], [[1.0]], [[1.0]], MU1, [1.0], prec=10), "prec"),
    (lambda: softmax_batch_means(MU2, K2, Q2, V2, Z2, 0, 40, np.random.default_rng(0)), "L"),
    (lambda: MU2.sample(-1, 0), "n"),
])
def test_bad_input_names_the_parameter(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_product_structure_equals_the_plain_tensor_rule_at_d2():
    """The factorised sums are the n^d tensor-product rule: compare with the generic tensor loop (independent code)."""
    with mp.workdps(40):
        a = mpmath.matrix(K2.tolist()).T * mpmath.matrix(Q2.tolist()) * mpmath.matrix(Z2.tolist())  # exact inputs
        a = [a[i] for i in range(2)]
        num, den = [mp.mpf(0)] * 2, mp.mpf(0)
        for p, m, G in zip(MU2.weights, MU2.means, MU2.covs):
            f = lambda x: [mp.exp(sum(a[i] * x[i] for i in range(2)))] + \
                          [x[j] * mp.exp(sum(a[i] * x[i] for i in range(2))) for j in range(2)]
            vals = gaussian_expectation(f, m, G, n=40, dps=40)
            den += mp.mpf(float(p)) * vals[0]
            num = [t + mp.mpf(float(p)) * v for t, v in zip(num, vals[1:])]
        plain = [sum(mp.mpf(float(V2[i, j])) * num[j] / den for j in range(2)) for i in range(2)]
        fast = mixture_attention_quadrature(K2, Q2, V2, MU2, Z2, dps=40)
        assert max(abs(x - y) for x, y in zip(plain, fast)) < mp.mpf("1e-35")


def test_quadrature_is_deterministic_and_precision_is_local():
    before = mp.dps
    a = mixture_attention_quadrature(K2, Q2, V2, MU2, Z2, dps=40)
    b = mixture_attention_quadrature(K2, Q2, V2, MU2, Z2, dps=40)
    assert a == b and mp.dps == before


def test_enclosure_is_narrow_and_contains_the_closed_form_together():
    flint = pytest.importorskip("flint")
    K, Q, V, z = [[1.2]], [[0.9]], [[1.1]], [1.3]
    ball = mixture_attention_enclosure(K, Q, V, MU1, z, prec=200)[0]
    p = {"K": np.array(K), "Q": np.array(Q), "V": np.array(V), "z": np.array(z), "mu": MU1}
    with mp.workdps(80):
        value = gm._as_closed_form(gm.TRUE_FORM, 80)(p)[0]
        wrong = gm._as_closed_form(gm.WRONG_FORMS["weights without 1/2 a^T Gamma a"], 80)(p)[0]
    with flint.ctx.workprec(300):
        assert float(ball.rad()) <= 1e-25 and ball.contains(flint.arb(mpmath.nstr(value, 75)) + flint.arb(0, "1e-70"))
        assert not ball.contains(flint.arb(mpmath.nstr(wrong, 75)))


def test_monte_carlo_same_seed_same_bits():
    a = softmax_batch_means(MU2, K2, Q2, V2, Z2, 200, 40, np.random.default_rng(5), 20)
    b = softmax_batch_means(MU2, K2, Q2, V2, Z2, 200, 40, np.random.default_rng(5), 20)
    assert np.array_equal(a, b)


def test_sampler_matches_the_mixture_moments():
    x = MU2.sample(200_000, np.random.default_rng(3))
    se = np.sqrt(np.diag(MU2.cov) / x.shape[0])
    assert np.all(np.abs(x.mean(axis=0) - MU2.mean) <= 5 * se)


def test_float_closed_form_survives_huge_tilts():
    out = mixture_limit(np.eye(1), np.eye(1), np.eye(1), MU1, [1e3])
    assert np.all(np.isfinite(out))


# ------------------------------------------------------------------------------------------ closed forms agree


def test_sympy_closed_form_equals_the_claim_grammar_form():
    """The registered SymPy conclusion (explicit d = 2 entries), its evaluators, the claim's example TRUE and the
    float64 kernel are one closed form."""
    pis, ms, Gs, _, _ = gm.components(2)
    subs = {gm.K: sp.ImmutableMatrix(K2), gm.Q: sp.ImmutableMatrix(Q2), gm.V: sp.ImmutableMatrix(V2),
            gm.z: sp.ImmutableMatrix(Z2.reshape(2, 1)), ms[0]: sp.ImmutableMatrix(MU2.means[0].reshape(2, 1)),
            ms[1]: sp.ImmutableMatrix(MU2.means[1].reshape(2, 1)), Gs[0]: sp.ImmutableMatrix(MU2.covs[0]),
            Gs[1]: sp.ImmutableMatrix(MU2.covs[1]), pis[0]: MU2.weights[0], pis[1]: MU2.weights[1]}
    expr = gm.softmax_mixture(2).xreplace(subs).doit()
    sym = [float(sp.N(e, 20)) for e in sp.Matrix(expr)]
    form = formula_at(gm.TRUE, {"K": K2, "Q": Q2, "V": V2, "z": Z2, "mu": MU2}, 30)
    assert np.allclose(sym, [float(form[i]) for i in range(2)], rtol=1e-13, atol=0)
    assert np.allclose(sym, mixture_limit(K2, Q2, V2, MU2, Z2), rtol=1e-13, atol=0)
    p = {"K": K2, "Q": Q2, "V": V2, "z": Z2, "mu": MU2}
    assert np.allclose(sym, [float(t) for t in gm._as_closed_form(gm.TRUE_FORM)(p)], rtol=1e-15, atol=0)
    assert np.allclose(sym, gm._as_float(gm.TRUE_FORM)(p), rtol=1e-13, atol=0)
    assert gm.MIXTURE_CLAIM.equivalents[-1] == gm._claim(gm.TRUE_FORM)  # the printed conclusion is a claim formula


def test_wrong_forms_are_written_once_and_reach_the_claim_catalogue():
    for name, expr in gm.WRONG_FORMS.items():
        assert gm._claim(expr) in gm.MIXTURE_CLAIM.wrong_examples, name
    assert gm._claim(gm.MOMENT_MATCHED) in gm.MIXTURE_CLAIM.wrong_examples


# ------------------------------------------------------------------------------------------ the statement


ST = get_statement("gaussian-mixture-limit")
FAST = [c for c in ST.checks if not c.slow] + [a.check for a in ST.assumptions]


@pytest.mark.parametrize("check", FAST, ids=lambda c: c.name)
def test_fast_checks_pass_and_every_mutant_goes_red(check):
    assert run_check(ST, check, seed=0).passed
    for m in check.mutants:
        assert not run_check(ST, check, seed=0, mutant=m.name).passed, m.name


def test_fast_checks_cost_under_1_5_s_per_seed():
    import time

    t0 = time.process_time()
    for seed in (1, 2):
        assert all(run_check(ST, c, seed=seed).passed for c in FAST)
    assert (time.process_time() - t0) / 2 <= 1.5


def test_derivations_are_checked_and_use_the_three_assumptions():
    for d in ST.built_derivations():
        assert all(r.passed for r in d.check()), d.name
    names = {a.name for a in ST.assumptions}
    assert names == {"mixture-tilt", "gaussian-tilted-mean", "gaussian-mgf"}


def _wrong(assumption, rule):
    return Assumption(assumption.name + "-wrong", "wrong", rule, assumption.check)


def test_a_step_with_a_wrong_rule_is_refuted_at_explicit_d():
    """The chain's steps go red when an assumption's rule is wrong (the canonical-form check alone would not return)."""
    pis, ms, Gs, Ms, Es = gm.components(2)
    tilt, gtilt, mgf = gm.ASSUMPTIONS[2]
    no_half = {Ms[k]: sp.exp(sp.Trace(gm.a.T * ms[k]) + sp.Trace(gm.a.T * Gs[k] * gm.a)) for k in range(2)}
    untilted = {Es[k]: ms[k] for k in range(2)}
    plain = {gm.TILTED_MEAN: sp.MatAdd(*[pis[k] * Es[k] for k in range(2)]) / sp.Add(*pis)}
    cases = [(mgf, no_half, gm.softmax_mixture(2, gm.a, list(Ms)), gm.softmax_mixture(2, gm.a)),
             (gtilt, untilted, gm.softmax_mixture(2, gm.a, list(Ms), list(Es)), gm.softmax_mixture(2, gm.a, list(Ms))),
             (tilt, plain, gm.V * gm.TILTED_MEAN, gm.softmax_mixture(2, gm.a, list(Ms), list(Es)))]
    for good, rule, lhs, rhs in cases:
        assert by(good, then=gm.EXPLICIT_FIRST).test(lhs, rhs)[0], good.name
        ok, detail = by(_wrong(good, rule), then=gm.EXPLICIT_FIRST).test(lhs, rhs)
        assert not ok and "refuted at d=" in detail, good.name


# ------------------------------------------------------------------------------------------ the claim


SPEC = gm.MIXTURE_CLAIM


def test_claim_accepts_the_true_form_and_rewritings():
    for f in (SPEC.example,) + tuple(SPEC.equivalents):
        assert check_formula(SPEC, f).accepted, f


def test_claim_rejects_every_wrong_form():
    assert len(SPEC.wrong_examples) >= 8 and len(SPEC.equivalents) >= 5
    for f in SPEC.wrong_examples:
        assert not check_formula(SPEC, f).accepted, f


def test_claim_conditional_form_under_shared_covariance():
    f, hyp = SPEC.conditional_examples[0]
    assert check_formula(SPEC, f, assume=hyp).accepted
    assert not check_formula(SPEC, f).accepted


def test_cli_claim_and_bad_formula(capsys):
    assert main(["claim", "gaussian-mixture-limit", f"--formula={gm.TRUE}"]) == 0
    assert main(["claim", "gaussian-mixture-limit", "--formula=exp(m1)"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "exp applies to scalars only" in err[0]


# ------------------------------------------------------------------------------------------ non-affinity


def test_separation_study_affine_only_without_separation():
    rows = separation_study(separations=(0.0, 0.5, 1.5), grid=101, check_points=2)["rows"]
    assert rows[0]["affine_gap_max"] < 1e-12 and rows[0]["linear_gap_max"] < 1e-12  # one Gaussian: affine, = linear
    assert rows[0]["affine_gap_max"] < rows[1]["affine_gap_max"] < rows[2]["affine_gap_max"]
    assert rows[2]["affine_gap_max"] > 0.3
    assert all(r["closed_form_vs_quadrature_digits"] >= 14 for r in rows)


def test_cli_mixture_writes_figure_and_json(tmp_path, capsys):
    out = tmp_path / "mix"
    assert main(["mixture", "-o", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["rows"]) >= 5 and (out / "mixture.png").stat().st_size > 1000
    assert json.loads((out / "mixture.json").read_text()) == doc and doc["findings"]
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    assert main(["mixture", "-o", str(a_file)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "-o/--output" in err[0]


def test_latex_renders(tmp_path):
    out = tmp_path / "x.tex"
    assert main(["latex", "gaussian-mixture-limit", "-o", str(out), "--no-evidence"]) == 0
    text = out.read_text()
    assert "w_k(z)" in text and "mixture-tilt" in text
