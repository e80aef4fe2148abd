"""``verify claim gaussian-limit`` / ``linear-limit`` see every d the statements claim.

Wrong forms that vanish at d <= 3 (a trace product, the 3 x 3 Cayley-Hamilton polynomial of Gamma) are accepted
by points at d = 1, 2, 3 only; the points run d = 1..5, with the reference of the definition at d >= 4 given by its
exact reduction to 1-D integrals (``verify.gaussian.references.attention_factorised``), which is checked here
against the tensor-product quadrature and seen failing on planted wrong inputs.  The centred hypothesis
(``--assume centred``) accepts the forms true for m = 0 only, and rejects them without it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import mpmath
from mpmath import mp

import verify.gaussian.references as CR
from proofs import gaussian_limit, linear_limit
from verify.kernel.catalogue import cayley_hamilton_3, vanishing_up_to
from verify.kernel.registry import claim_specs
from verify.cli import main
from verify.kernel.compare import digits_between as agreeing_digits
from verify.kernel.claim import check_formula
from verify.numerics.quadrature import attention_quadrature, attention_quadrature_float
from verify.numerics.strategies import attention_point

SPECS = claim_specs()
TRUE = {"gaussian-limit": "V*m + V*Gamma*K.T*Q*z", "linear-limit": "V*(Gamma + m*m.T)*K.T*Q*z"}
TRICKS = {  # zero at d <= 3 (and, the last, at d <= 4), so only points at d >= 4 (d = 5) can see them
    "trace product": (f"{vanishing_up_to(3)}*V*m", 4),
    "Cayley-Hamilton 3x3": (f"V*{cayley_hamilton_3()}*m", 4),
    "trace product to 4": (f"{vanishing_up_to(4)}*V*Gamma*K.T*Q*z", 5),
}
CASES = [(cid, name) for cid in TRUE for name in TRICKS]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _args(p):
    return p["K"], p["Q"], p["V"], p["m"], p["Gamma"], p["z"]


# ------------------------------------------------------------------------------ the points


@pytest.mark.parametrize("cid", list(TRUE))
def test_points_cover_d_1_to_5_centred_and_not_with_non_diagonal_gamma(cid):
    pts = SPECS[cid].points(0)
    assert sorted({p.dim for p in pts}) == [1, 2, 3, 4, 5]
    for d in range(1, 6):
        at = [p for p in pts if p.dim == d]
        centred = [p for p in at if "centred" in p.cases]
        assert len(centred) >= 1 and len(at) - len(centred) >= 2
        for p in at:
            m = p.values["m"]
            is_zero = all(m[i] == 0 for i in range(d))
            assert is_zero == ("centred" in p.cases)
            G = p.values["Gamma"]
            if d >= 2:
                assert max(abs(G[i, j]) for i in range(d) for j in range(d) if i != j) > 0.01
    rebuilt = (gaussian_limit if cid == "gaussian-limit" else linear_limit).claim_points(0)
    assert rebuilt == pts  # same seed, same points, rebuilt bit for bit
    other = SPECS["linear-limit" if cid == "gaussian-limit" else "gaussian-limit"].points(0)
    assert [p.values for p in other] == [p.values for p in pts]  # both claims are judged at the same parameters


def test_help_states_the_coverage_and_the_hypothesis(capsys):
    with pytest.raises(SystemExit):
        main(["claim", "--help"])
    out = capsys.readouterr().out
    for cid in TRUE:
        block = out[out.index(f"  {cid}:"):]
        block = block[: block.index("example:")]
        assert "d = 1, 2, 3, 4, 5" in block and "m = 0" in block and "non-diagonal" in block
        assert "--assume centred" in block and "d = 1, 2, 3 are tried" not in block
    assert "attention_factorised" in out and "d >= 4" in out


# ------------------------------------------------------------------------------ d <= 3 tricks


@pytest.mark.parametrize("cid,name", CASES)
def test_terms_vanishing_at_low_d_are_rejected(cid, name, capsys):
    term, seen_from = TRICKS[name]
    formula = f"{TRUE[cid]} + {term}"
    v = check_formula(SPECS[cid], formula)
    assert not v.accepted and v.worst_dim >= seen_from and v.worst_error > 1e-3, v
    code, out, _ = run(capsys, "claim", cid, "--formula", formula)
    assert code == 1 and "DIFFERENT" in out
    # points that stop below seen_from would agree numerically: the high-d points are what the numeric line needs,
    # and the exact decision refutes it whatever the reference points
    low = dataclasses.replace(SPECS[cid], id=f"{cid}-low", points=lambda seed, _s=SPECS[cid], _k=seen_from: tuple(
        p for p in _s.points(seed) if p.dim < _k))
    v_low = check_formula(low, formula, with_hints=False)
    assert v_low.numeric_agrees and v_low.verdict == "DIFFERENT" and v_low.decision.counterexample.dim >= seen_from


@pytest.mark.parametrize("cid", list(TRUE))
def test_catalogue_is_broad_and_the_true_form_is_accepted(cid, capsys):
    spec = SPECS[cid]
    assert len(spec.wrong_examples) >= 10 and len(spec.equivalents) >= 5
    assert any("1e-12" in f for f in spec.wrong_examples)
    assert spec.assumptions.keys() == {"centred"} and spec.conditional_examples
    code, out, _ = run(capsys, "claim", cid, "--formula", TRUE[cid])
    assert code == 0 and "at 15 reference points" in out


# ------------------------------------------------------------------------------ --assume centred


@pytest.mark.parametrize("cid,formula", [("gaussian-limit", "V*Gamma*K.T*Q*z"), ("linear-limit", "V*Gamma*K.T*Q*z"),
                                         ("gaussian-limit", TRUE["linear-limit"]),
                                         ("linear-limit", TRUE["gaussian-limit"])])
def test_centred_form_accepted_under_assume_centred_only(cid, formula, capsys):
    code, out, _ = run(capsys, "claim", cid, "--formula", formula, "--assume", "centred")
    assert code == 0 and "EQUAL (proved)" in out and "(under centred)" in out
    code, out, _ = run(capsys, "claim", cid, "--formula", formula)
    assert code == 1 and "DIFFERENT" in out
    under = check_formula(SPECS[cid], formula, assume=("centred",))
    assert under.accepted and under.n_points == 5 and not check_formula(SPECS[cid], formula).accepted


@pytest.mark.parametrize("cid", list(TRUE))
def test_conditional_examples_hold_under_their_hypotheses_only(cid):
    assert len(SPECS[cid].conditional_examples) == 2
    for formula, hypotheses in SPECS[cid].conditional_examples:
        assert check_formula(SPECS[cid], formula, assume=hypotheses).accepted, formula
        assert not check_formula(SPECS[cid], formula).accepted, formula


@pytest.mark.parametrize("cid", list(TRUE))
def test_unknown_hypothesis_exits_2_with_one_line(cid, capsys):
    code, out, err = run(capsys, "claim", cid, "--formula", TRUE[cid], "--assume", "nonsense")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "nonsense" in err and "assume" in err


# ------------------------------------------------------------------------------ the factorised reference


def digits(value, reference) -> float:
    return agreeing_digits(mpmath.matrix(value), mpmath.matrix(reference))


def _point(d, seed, scale=0.6):
    return attention_point(d, np.random.default_rng([seed, 99, d]), scale)


@pytest.mark.parametrize("d,seed", [(1, 0), (1, 1), (2, 0), (2, 1), (2, 2), (3, 0)])
def test_factorised_reference_agrees_with_tensor_quadrature(d, seed):
    p = _point(d, seed)
    with mp.workdps(40):
        assert digits(CR.attention_factorised(*_args(p)), attention_quadrature(*_args(p))) >= 38


def test_factorised_reference_agrees_with_tensor_quadrature_at_d4():
    p = _point(4, 3, scale=0.2)  # small tilt: the 20^4-node tensor rule reaches 30 digits in ~0.3 s
    with mp.workdps(30):
        assert digits(CR.attention_factorised(*_args(p), dps=30), attention_quadrature(*_args(p), dps=30)) >= 29


@pytest.mark.parametrize("d", [4, 5])
def test_factorised_reference_agrees_with_float64_trapezoid_at_d4_d5(d):
    p = _point(d, 0, scale=0.5)
    ref = attention_quadrature_float(*_args(p))  # another integrator (trapezoid), float64
    got = np.array([float(t) for t in CR.attention_factorised(*_args(p))])
    assert np.max(np.abs(got - ref)) / max(1.0, np.max(np.abs(ref))) < 1e-12


@pytest.mark.parametrize("d", [1, 2])
def test_factorised_reference_is_seen_failing_on_wrong_inputs(d, monkeypatch):
    p = _point(d, 4)
    K, Q, V, m, G, z = _args(p)
    with mp.workdps(40):
        truth = attention_quadrature(K, Q, V, m, G, z)
        assert digits(CR.attention_factorised(K, Q, V, m, G, z), truth) >= 38
        mutants = {"K transposed": (K.T, Q, V, m, G, z), "Gamma inverted": (K, Q, V, m, np.linalg.inv(G), z),
                   "m dropped": (K, Q, V, 0 * m, G, z)}
        if d == 1:  # at d = 1 a transpose is no mutant; use a scaled factor instead
            mutants["K transposed"] = (2 * K, Q, V, m, G, z)
        for name, args in mutants.items():
            assert digits(CR.attention_factorised(*args), truth) < 5, name
        # a planted under-resolved 1-D integral (3 nodes) is seen as well
        rule = CR.hermite_rule
        monkeypatch.setattr(CR, "hermite_rule", lambda n, dps: rule(3, dps))
        assert digits(CR.attention_factorised(K, Q, V, m, G, z), truth) < 30


def test_factorised_reference_bad_input():
    I2 = np.eye(2)
    with pytest.raises(ValueError, match="mean"):
        CR.attention_factorised(I2, I2, I2, [1.0, 2.0, 3.0], I2, [0.0, 1.0])
    with pytest.raises(ValueError, match="cov"):
        CR.attention_factorised(I2, I2, I2, [0.0, 0.0], [[1.0, 0.0], [0.0, 0.0]], [1.0, 0.0])
    with pytest.raises(ValueError, match="z"):
        CR.attention_factorised(I2, I2, I2, [0.0, 0.0], I2, [1e3, 0.0])
