"""attention-dynamics: moment ODEs, the chunked particle field, RK4, blow-up and collapse, the derivation on a
wrong ODE, the SymPy ODEs against the engine kernels, the ``verify dynamics`` study and CLI, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

import proofs.attention_dynamics as P
from verify.gaussian import dynamics as D
from verify.kernel.derivation import Derivation
from verify.kernel.runner import run_check
from verify.numerics.ode import Trajectory
from verify.studies import dynamics as S

I2 = np.eye(2)


def test_field_is_chunk_independent_and_matches_a_loop():
    X = np.random.default_rng(1).standard_normal((2, 30, 2))
    K, Q, V = P.POINT["K"], P.POINT["Q"], P.POINT["V"]
    F = D.attention_field(X, K, Q, V, chunk=4)
    x = X[1, 7]
    s = X[1] @ (K.T @ Q @ x)
    w = np.exp(s - s.max())
    assert np.allclose(F[1, 7], V @ (X[1].T @ w) / w.sum(), rtol=1e-13, atol=1e-14)
    assert np.array_equal(F, D.attention_field(X, K, Q, V, chunk=4))
    assert np.isfinite(D.attention_field(X * 1e3, K, Q, V)).all()       # huge scores: log-sum-exp, no NaN


def test_particles_are_bounded_where_the_gaussian_blows_up():
    G0 = np.array([[0.5, 0.1], [0.1, 0.3]])
    t_star = 1 / (2 * np.linalg.eigvalsh(G0).max())
    path = D.moment_flow(I2, I2, I2, [0.3, -0.2], G0, [0.5 * t_star, 1.2 * t_star])
    assert isinstance(path, Trajectory) and path.t.tolist() == [0.5 * t_star, 1.2 * t_star]
    assert abs(path.event_time - t_star) < 1e-6 * t_star and np.isnan(D.moments(path)[1][1]).all()
    assert t_star == D.blowup_time(G0, 1.0) and D.riccati_error(path, G0, 1.0) < 1e-6
    X0 = D.sample_replicas([0.3, -0.2], G0, 1, 100, np.random.default_rng(0))
    (X,) = D.particle_flow(X0, I2, I2, I2, [1.2 * t_star], dt=t_star / 20)
    r0 = np.abs(X0).max()
    assert np.isfinite(X).all() and np.abs(X).max() <= r0 * np.exp(1.2 * t_star) * (1 + 1e-9)


def test_collapse_rate():
    G0 = np.array([[0.5, 0.1], [0.1, 0.3]])
    path = D.moment_flow(I2, I2, -I2, [0.3, -0.2], G0, [100.0, 200.0])
    covs = D.moments(path)[1]
    tr = [np.trace(G) for G in covs]
    assert abs(np.log(tr[1] / tr[0]) / np.log(2) + 1) < 0.02   # tr Gamma ~ 1/(t + c): slope -0.99 on [100, 200]
    assert np.allclose(covs[1], D.riccati_isotropic(G0, -1.0, 200.0), rtol=1e-8)
    assert path.event_time is None and D.blowup_time(G0, -1.0) is None


def test_riccati_error_sees_a_wrong_flow():
    G0 = np.array([[0.5, 0.1], [0.1, 0.3]])
    half = P._flow_subject(**P.WRONG_ODES["cov: missing Gamma A^T Gamma V^T"])
    path = half.flow({"K": I2, "Q": I2, "V": I2, "m": np.array([0.3, -0.2]), "Gamma": G0}, [0.2, 0.4])
    assert D.riccati_error(path, G0, 1.0) > 0.01       # a flow that never blows up where t_* says it must


def test_the_integrated_odes_are_the_sympy_odes():
    """The checks integrate the SymPy ODEs (evaluated by numpy); the engine kernels are checked against them."""
    p = P.POINT
    subject = P._flow_subject()
    args = (p["K"], p["Q"], p["V"], p["m"], p["Gamma"])
    assert np.allclose(subject["mean"](*args), D.mean_rhs(*args), rtol=1e-14, atol=1e-15)
    assert np.allclose(subject["cov"](*args), D.cov_rhs(*args), rtol=1e-14, atol=1e-15)
    for name, wrong in P.MUTANTS:
        assert not np.allclose(wrong["mean"](*args), D.mean_rhs(*args)) or not np.allclose(wrong["cov"](*args),
                                                                                          D.cov_rhs(*args)), name
    ev = run_check(P.STATEMENT, P.NUMPY_KERNEL, 0)
    assert ev.passed and ev.figure >= 13, ev.detail
    assert all(run_check(P.STATEMENT, P.NUMPY_KERNEL, 0, m.name).caught for m in P.NUMPY_KERNEL.mutants)


def test_the_gaussian_derivation_fails_on_the_transposed_ode():
    wrong = P.V * P.Gamma * P.A.T * P.Gamma + P.Gamma * P.A * P.Gamma * P.V.T
    assert all(r.passed for r in P.derivation_gaussian(1).check())   # the true one passes
    R0, subs = P.continuity_residual(2, cov_ode=wrong)
    d = Derivation("wrong", R0.xreplace(subs), conclusion=0).step(0, "claimed to vanish")
    assert not d.check()[0].passed


def test_particles_check_and_its_mutants():
    ev = run_check(P.STATEMENT, P.PARTICLES_CHECK, 0)
    assert ev.passed, ev.detail
    for m in P.PARTICLES_CHECK.mutants:
        assert run_check(P.STATEMENT, P.PARTICLES_CHECK, 0, m.name).caught


def test_same_seed_same_bits():
    a = D.sample_replicas([0.0, 0.0], I2, 2, 10, np.random.default_rng(7))
    b = D.sample_replicas([0.0, 0.0], I2, 2, 10, np.random.default_rng(7))
    assert D.particle_flow(a, I2, I2, -I2, [0.2], dt=0.1)[0].tobytes() == D.particle_flow(b, I2, I2, -I2, [0.2], dt=0.1)[0].tobytes()


def test_bad_input():
    with pytest.raises(ValueError, match="times"):
        D.moment_flow(I2, I2, I2, [0, 0], I2, [0.5, 0.2])
    with pytest.raises(ValueError, match="times"):
        D.particle_flow(np.zeros((3, 2)), I2, I2, I2, [0.15], dt=0.1)
    with pytest.raises(ValueError, match="G0"):
        D.moment_flow(I2, I2, I2, [0, 0], [[1.0, 2.0], [0.0, 1.0]], [1.0])
    with pytest.raises(ValueError, match="X"):
        D.attention_field(np.zeros((2, 0, 2)), I2, I2, I2)
    with pytest.raises(ValueError, match="chunk"):
        D.attention_field(np.zeros((4, 2)), I2, I2, I2, chunk=0)
    with pytest.raises(ValueError, match="t"):
        D.riccati_isotropic(I2, 1.0, 0.6)


# ------------------------------------------------------------------------------------ verify dynamics (CLI)


@pytest.fixture
def smoke(monkeypatch):
    """``--quick`` takes about a minute: the CLI tests run the whole study at the ``smoke`` size (seconds)."""
    monkeypatch.setitem(S.SIZES, "quick", S.SIZES["smoke"])


def test_cli_bad_output_is_one_line_exit_2(tmp_path, capsys):
    from verify.cli import main

    f = tmp_path / "a_file"
    f.write_text("x")
    for bad in (str(f), str(f / "dir")):
        assert main(["dynamics", "--quick", "-o", bad]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "-o/--output" in err, err


def test_cli_quick_json_parses_and_writes_figures(smoke, tmp_path, capsys):
    from verify.cli import main

    assert main(["dynamics", "--quick", "--json", "--seed", "1", "-o", str(tmp_path / "out")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["N"] for r in doc["convergence"]] == list(S.SIZES["smoke"]["conv_Ns"]) and S.ok(doc)
    assert set(doc) == {"convergence", "blowup", "collapse", "t_star", "field", "findings", "provenance"}
    assert doc["provenance"]["command"].startswith("verify dynamics --quick")
    assert abs(doc["blowup"]["blowup_time"] - doc["t_star"]) <= 1e-3 * doc["t_star"] and doc["findings"]
    assert doc["field"]["N"] == S.SIZES["smoke"]["n_big"] and doc["field"]["rms_error"] < 0.5
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"dynamics.json", "convergence_in_N.png", "blowup.png",
                                                              "collapse.png"}
    assert json.loads((tmp_path / "out" / "dynamics.json").read_text())["t_star"] == doc["t_star"]


def test_the_study_refuses_an_unknown_size():
    with pytest.raises(ValueError, match="size"):
        S.run(size="huge")
