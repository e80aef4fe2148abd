"""Training at L = infinity: the flow, its balance, GD, the alpha sweep (verify.icl.training); the evidence of the
statement train-infinite (proofs/train_infinite.py) going red on planted slips; the study verify train and its CLI.

Kept light: short integrations (d <= 3 except where the statement needs d = 5), a handful of alpha values.
"""

from __future__ import annotations

import importlib
import json
import math

import numpy as np
import pytest

from verify.cli import main
from verify.icl import training as train
from verify.icl.gradient import icl_risk_gradient
from verify.icl.risk import icl_risk_infinite, invariant_point, toeplitz_sigma
from verify.studies import train as study

evidence = importlib.import_module("proofs.train_infinite")

S3 = toeplitz_sigma(3, 0.5)


# ------------------------------------------------------------------------------ the flow


def test_flow_converges_and_conserves_the_balance():
    P = train.random_direction(3, 1)
    p = train.gradient_flow(*train.balanced_init(S3, 0.7, P), S3, 1e4, noise=0.2, stop_distance=1e-9, dissipation=True)
    U, V = train.final_point(p)
    assert p.event_time is not None and train.bayes_distance(U, V, S3) <= 1.01e-9
    assert train.family_distance(U, V, S3) < 1e-7
    assert abs(icl_risk_infinite(U, V, S3, 0.2) - 0.02) < 1e-14  # Bayes risk s^2/2
    drift, allowed = train.balance_drift(p)
    assert drift <= allowed and allowed < 1e-4
    assert np.diff(train.risk_along(p)).max() <= 1e-15  # a gradient flow never increases the risk
    assert train.dissipation_gap(p) < 1e-8
    assert np.abs(p.y[:, 9:-1]).max() == 0.0  # u = a = 0: the invariant subspace is kept exactly


def test_the_witness_converges():
    """d = 1, Sigma = 1/4, alpha = 4: inside the printed interval (4 < 4 sqrt 2), outside ZFB's (alpha^2 Sigma = 4 > 2)."""
    assert train.printed_bound(1, 0.25) > 4.0 > train.zfb_bound(1, 0.25)
    p = train.gradient_flow(*train.balanced_init([[0.25]], 4.0), [[0.25]], 1e4, stop_distance=1e-10)
    assert p.event_time is not None
    assert np.allclose(p.final, [2.0, 0.0, 0.0, 2.0], atol=1e-9)  # A = b = Sigma^{-1/2}
    (cell,) = train.alpha_sweep([[0.25]], [4.0])
    assert cell["converged"] and cell["family_distance"] <= 1e-8


def test_batch_field_is_minus_the_closed_form_gradient():
    rng = np.random.default_rng(3)
    A, b = rng.standard_normal((3, 3)), 0.8
    y = train.invariant_field(S3, 1)(0.0, np.concatenate([A.ravel(), [b]]))
    gU, gV = icl_risk_gradient(*invariant_point(A, b, 3), S3)
    assert np.allclose(y, -np.concatenate([gU[:3, :3].ravel(), [gV[3, 3]]]), rtol=1e-13, atol=1e-13)


def test_gradient_descent_is_first_order_and_same_seed_same_bits():
    start = train.balanced_init(S3, 0.5, train.random_direction(3, 0))
    errs = train.gd_flow_errors(*start, S3, 2.0, (0.02, 0.01, 0.005))
    assert 0.95 <= train.gd_order(errs) <= 1.1
    assert train.random_direction(3, 5).tobytes() == train.random_direction(3, 5).tobytes()
    assert train.gd_order([1.0, float("nan")]) == -math.inf


def test_every_alpha_converges_and_the_escape_law():
    cells = train.alpha_sweep(train.scaled_sigma(2, 4.0), [1e-3, 1.0, 100.0])
    assert all(c["converged"] for c in cells)
    assert cells[0]["t_reach"] > cells[1]["t_reach"]  # tiny alpha: slow escape from the saddle at 0
    row = {"Sigma": train.scaled_sigma(2, 1.0), "P": train.random_direction(2, 0)}
    run = evidence.escape_run(row)
    assert evidence.escape_error(row, run, train.escape_rate) < 1e-3


# ------------------------------------------------------------------------------ mutants go red


def _reverse(U, V, S, s=0.0):
    gU, gV = icl_risk_gradient(U, V, S, s)
    return -gU, -gV


def _double_v(U, V, S, s=0.0):
    gU, gV = icl_risk_gradient(U, V, S, s)
    return gU, 2 * gV


def test_planted_slips_are_caught():
    p = {"Sigma": S3, "noise": 0.0, "T": 2.0, "start": train.balanced_init(S3, 0.5)}
    assert evidence.energy_defect(p, evidence.field_path(p, icl_risk_gradient)) < 1e-8
    assert evidence.field_path(p, _reverse).diverged or evidence.energy_defect(p, evidence.field_path(p, _reverse)) > 0.1
    assert evidence.drift_ratio(p, evidence.field_path(p, _double_v)) > 10
    q = {"Sigma": np.eye(2), "noise": 0.3, "alpha": 0.5, "P": np.eye(2) / math.sqrt(2)}
    path = evidence.converged_path(q)
    assert evidence.risk_gap(q, path, lambda s: s * s / 2) < 1e-12 < 0.01 < evidence.risk_gap(q, path, lambda s: s * s)
    U, V = train.final_point(path)
    assert train.bayes_distance(U, V, np.eye(2)) < 2e-9
    wrong = lambda S: invariant_point(np.linalg.inv(S), 1.0, S.shape[0])  # noqa: E731  no trace factor
    assert train.bayes_distance(U, V, np.eye(2), wrong) > 0.1


def test_a_wrong_bayes_point_in_the_engine_is_red_and_the_run_finishes(monkeypatch):
    """(U_*, V_*) planted without its trace factor in verify.icl.risk: the reference flows stop on their own
    convergence (never on a distance to the point under test), so every check finishes well within its budget, and the
    numpy Bayes point's check goes red; the limit check, whose subject is the SymPy closed form, stays right."""
    import time

    import verify.icl.risk as risk
    from verify.kernel.registry import get_statement
    from verify.kernel.runner import run_check

    def wrong(S):
        S = np.asarray(S, dtype=float)
        return invariant_point(np.linalg.inv(S), 1.0, S.shape[0])

    monkeypatch.setattr(risk, "bayes_point", wrong)
    monkeypatch.setattr(train, "bayes_point", wrong)
    st = get_statement("train-infinite")
    t0 = time.perf_counter()
    records = {c.name: run_check(st, c, 0) for c in st.checks if not c.slow}
    assert time.perf_counter() - t0 < 120
    assert all(r.seconds < st.check_named(n).budget for n, r in records.items())
    assert not records["numpy-bayes-point-vs-closed-form"].passed, records["numpy-bayes-point-vs-closed-form"]
    assert records["flow-reaches-bayes-point"].passed and records["risk-to-bayes-risk"].passed


@pytest.mark.parametrize("order", ["A S^3", "S A S^2"])
def test_a_reordered_batched_field_in_the_engine_is_red(monkeypatch, order):
    """The alpha sweep's batched field with Sigma^2 A Sigma reordered (planted in the one definition, which the sweep
    and the balanced flows import): the field's check, at states that do not commute with Sigma, goes red."""
    import verify.icl.gradient as gradient
    from verify.kernel.registry import get_statement
    from verify.kernel.runner import run_check

    planted = evidence._reordered_field(order)
    monkeypatch.setattr(gradient, "invariant_field", planted)
    monkeypatch.setattr(train, "invariant_field", planted)
    st = get_statement("train-infinite")
    ev = run_check(st, st.check_named("batched-field-vs-gradient"), 0)
    assert not ev.passed and ev.figure > 1e-3, ev


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("call, match", [
    (lambda: train.balanced_init(S3, 0.0), "alpha"),
    (lambda: train.balanced_init(S3, 1.0, P=np.eye(3)), "P"),
    (lambda: train.balanced_init([[1.0, 2.0], [0.0, 1.0]], 1.0), "Sigma"),
    (lambda: train.gradient_flow(np.eye(3), np.eye(4), S3, 1.0), "U0"),
    (lambda: train.gradient_flow(np.eye(4), np.eye(4), S3, -1.0), "t_end"),
    (lambda: train.gradient_descent(np.eye(4), np.eye(4), S3, float("nan"), 3), "eta"),
    (lambda: train.gradient_descent(np.eye(4), np.eye(4), S3, 0.1, 0), "n_steps"),
    (lambda: train.alpha_sweep(S3, []), "alphas"),
    (lambda: train.alpha_sweep(S3, [-1.0]), "alphas"),
    (lambda: train.gd_flow_errors(np.eye(4), np.eye(4), S3, 1.0, (0.3,)), "etas"),
    (lambda: train.balance_drift("path"), "path"),
    (lambda: train.balance_drift(train.gradient_descent(np.eye(4), np.eye(4), S3, 0.1, 2)), "path"),
])
def test_bad_input_raises_naming_the_parameter(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_cli_bad_input_exits_2(capsys, tmp_path):
    """A bad seed, an unknown option, -o naming a file or a directory that cannot be created: one line, exit 2,
    before any computing."""
    (tmp_path / "file").write_text("x")
    for argv in (["train", "--seed", "-1"], ["train", "--bogus"], ["train", "-o", str(tmp_path / "file")],
                 ["train", "-o", str(tmp_path / "file" / "dir")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "error" in err


def test_cli_quick_json(capsys, monkeypatch, tmp_path):
    """The CLI wiring on a reduced run (the study's grid is exercised by `verify train --quick`, ~1 min)."""
    def small(*, quick, seed, progress):
        case = {"label": "isotropic d=2", "Sigma": np.eye(2), "noise": 0.0, "alpha": 0.5, "P": np.eye(2) / math.sqrt(2)}
        inf = [study.run_infinite(case)]
        cells = study.init_interval_audit((1,), (0.25,), (1e-3, 4.0, 100.0))
        return {"runs": inf, "init_interval": cells, "fits": [], "findings": study._findings(inf, cells)}

    monkeypatch.setattr(study, "run_infinite_part", small)
    assert main(["train", "--quick", "--json", "--part", "infinite", "-o", str(tmp_path / "out")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {"runs", "fits", "findings"} <= set(doc) and set(doc["runs"]) == {"infinite"}
    assert all(c["converged"] for c in doc["runs"]["infinite"]["init_interval"])
    assert any(("witness" in f or "outside ZFB" in f) and f.startswith("[infinite]") for f in doc["findings"])
    for name in ("train.json", "init_interval.csv", "alpha_sweep.png"):
        assert (tmp_path / "out" / name).exists(), name
    assert main(["train", "--quick", "--part", "infinite"]) == 0 and "verify train: ok" in capsys.readouterr().out
    with pytest.raises(ValueError, match="parts"):
        study.run(parts=("bogus",))


def test_the_scaling_derivation_fails_with_the_printed_exponent():
    """The chain F(kA, kb; c Sigma) = k c^2 F(A, b; Sigma) holds for k = c^{-1/2}, not for k = c^{-1} (alpha ||Sigma||)."""
    import sympy as sp

    assert all(r.passed for r in evidence.derivation_scaling(1).check())
    assert not all(r.passed for r in evidence.derivation_scaling(1, exponent=sp.Integer(1)).check())
    assert all(r.passed for r in evidence.derivation_linearisation(1).check())


def test_train_parts_are_sweep_cells_logged_and_resumed(monkeypatch, tmp_path):
    """verify train --log: each part is a cell written as it finishes; a rerun reads it back and does not recompute
    it (the same JSON); a planted part that changes its answer on recomputation would show."""
    calls = []

    def part(*, quick, seed, progress):
        calls.append(seed)
        return {"runs": [{"label": "x", "value": np.float64(0.5) + seed}], "init_interval": [], "fits": [],
                "findings": [f"seed {seed}"]}

    monkeypatch.setattr(study, "run_infinite_part", part)
    log = tmp_path / "train.jsonl"
    first = study.run(quick=True, seed=3, parts=("infinite",), log=log)
    again = study.run(quick=True, seed=3, parts=("infinite",), log=log)
    assert calls == [3] and json.dumps(first) == json.dumps(again)
    assert first["runs"]["infinite"]["runs"][0]["value"] == 3.5 and first["findings"] == ["[infinite] seed 3"]
    study.run(quick=True, seed=4, parts=("infinite",), log=log)  # another seed is another cell
    assert calls == [3, 4] and len(log.read_text().splitlines()) == 2


def test_every_generated_mutant_of_the_bayes_point_is_killed_or_proved_equivalent():
    """train-infinite's closed form U_* = tr(Sigma^-2)^(-1/4) Sigma^-1, mutated by machine: the limit check kills every
    mutant the exact decision does not prove equal (Sigma^T for Sigma is one)."""
    from verify.kernel.mutate import mutation_campaign
    from verify.kernel.registry import get_statement

    report = mutation_campaign(get_statement("train-infinite"))
    assert report["generated"] >= 10 and report["survived"] == 0, [m for m in report["mutants"] if m["status"] == "survived"]
    assert report["equivalent"] >= 1 and report["killed"] + report["equivalent"] == report["generated"]
