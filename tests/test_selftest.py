"""``verify selftest``: the quick selftest runs in the default suite, and it can fail."""

from __future__ import annotations

import dataclasses
import json

from verify import claims, selftest
from verify.cli import main


def test_quick_selftest_passes(capsys):
    code = main(["selftest", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["ok"], doc["claims"]["failures"]
    summary = doc["claims"]
    assert summary["rejection_rate"] == 1.0 and summary["acceptance_rate"] == 1.0
    assert summary["mutants"] >= len(claims.claim_specs())  # at least one planted wrong formula per claim
    for rec in doc["claim_records"]:
        assert rec["cli_exit"] == (0 if rec["expected"] == "accept" else 1), rec


def test_selftest_goes_red_when_a_wrong_formula_is_listed_as_a_rewriting(capsys, monkeypatch):
    specs = claims.claim_specs()
    cid, spec = next(iter(specs.items()))
    planted = dataclasses.replace(spec, wrong_examples=(spec.example,), conditional_examples=())  # the true form listed as a mutant
    monkeypatch.setattr(selftest, "claim_specs", lambda: {**specs, cid: planted})
    records = selftest.run_claim_catalogue([cid], cli=False)
    summary = selftest.summarise_claims(records)
    assert summary["rejection_rate"] == 0.0 and summary["failures"]


def test_seed_sweep_counts_failures_per_check(monkeypatch):
    """A check that fails at some seeds is reported with those seeds; a check that never fails reports 0."""
    from verify.claims import Mutant, Statement
    from verify.evidence import bound

    flaky = bound("flaky", None, lambda p, s: p["u"], lambda rng: [{"u": float(rng.random())}], threshold=0.7,
                  mutants=[Mutant("m", None)])
    steady = bound("steady", None, lambda p, s: 0.0, [{}], threshold=0.7, mutants=[Mutant("m", None)])
    toy = Statement("toy", "0", "toy", "toy", "test", "x", checks=[flaky, steady])
    monkeypatch.setattr(selftest, "get_statement", lambda sid: toy)
    out = {s.name: s for s in selftest.run_seed_sweep(range(40), ids=["toy"])}
    assert out["steady"].failures == 0 and out["steady"].seeds == 40
    assert 0 < out["flaky"].failures < 40 and len(out["flaky"].failed_seeds) == out["flaky"].failures
    assert out["flaky"].worst_figure > 0.7
    assert 0 < selftest.Z_FALSE_ALARM < 1e-6
