"""The command line: exit statuses, JSON records, claims, LaTeX (compiled with pdflatex when present)."""

import json

import pytest

from verify.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0 and "gaussian-limit" in out and "Lemma 2.1" in out
    first = {ln.split()[0]: ln for ln in out.splitlines() if not ln.startswith(" ")}
    assert first["prop-3-1-literal"].endswith("falsified as written")  # the declared verdict kind
    assert first["sharp-exponent"].endswith("contradicts the paper") and first["gaussian-limit"].endswith("verified")


def test_run_json_records(capsys):
    code, out, _ = run(capsys, "run", "gaussian-limit", "--json", "--seed", "1")
    records = json.loads(out)
    assert code == 0 and records
    for r in records:
        assert {"id", "kind", "passed", "figure", "threshold", "seconds"} <= set(r)
    by_kind = {r["kind"]: r for r in records}
    assert by_kind["quadrature"]["figure"] >= 30  # digits
    assert abs(by_kind["montecarlo"]["figure"]) <= 5  # |z|


def test_run_table_ends_with_the_verdict_not_a_pass_count(capsys):
    code, out, err = run(capsys, "run", "linear-limit")
    assert code == 0 and "[1/" in err
    table, verdicts = out.split("\nVerdicts (arXiv 2512.11784", 1)
    assert table.startswith("linear-limit · Lemma 2.1 (remark)") and "⊢ " in table  # a derivation says what it derived
    assert "VERIFIED UNDER HYPOTHESES" in verdicts and "hypothesis: it equals the softmax limit" in verdicts
    assert verdicts.rstrip().endswith("derivations and checks passed.") and "passed, 0 failed" not in out


def test_run_exit_1_when_a_check_fails(capsys, monkeypatch):
    from verify.kernel.statement import Mutant
    from verify.kernel.registry import get_statement
    from verify.kernel.evidence import bound

    companion = get_statement("linear-limit")
    bad = bound("always-red", 1.0, lambda p, s: s, [{}], threshold=0.0, mutants=[Mutant("zero", 0.0)])
    monkeypatch.setattr(companion, "checks", list(companion.checks) + [bad])
    code, out, _ = run(capsys, "run", "linear-limit", "--no-derivations")
    assert code == 1 and "FAIL" in out


@pytest.mark.parametrize("argv, named", [
    (["run", "no-such-statement"], "statement id: unknown 'no-such-statement'"),
    (["claim", "no-such-claim", "--formula", "x"], "claim id: unknown 'no-such-claim'"),
    (["bogus"], "invalid choice: 'bogus'"),
    (["claim", "gaussian-limit", "--formula", "V*Gamma"], "formula: expected shape"),
    (["claim", "gaussian-limit", "--formula", "V*m +"], "formula: could not parse"),
    (["run", "--seed", "-3"], "--seed"),
    (["latex", "-o", "out.pdf"], "-o/--output: expected a .tex file name"),
    (["claim", "gaussian-limit"], "--formula"),
    (["run", "--log", "."], "--log: '.' is a directory"),
    (["run", "--mutants", "--log", "x.jsonl"], "--mutants"),
    (["selftest", "--sweep", "linear-limit"], "--sweep: only with --full"),
    (["run", "linear-limit", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler: cannot reach 'tcp://127.0.0.1:1'"),
])
def test_bad_usage_exits_2_with_one_line_naming_what_is_wrong(capsys, argv, named, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("verify: error:") and named in err, err


def test_a_defect_keeps_its_traceback(monkeypatch):
    """Bad input is one line and exit 2; an error raised while a command computes is a defect and propagates."""
    import verify.kernel.runner

    def broken(*args, **kwargs):
        raise ValueError("an internal inconsistency")

    monkeypatch.setattr(verify.kernel.runner, "run_statements", broken)
    with pytest.raises(ValueError, match="an internal inconsistency"):
        main(["run", "linear-limit", "--quiet"])


def test_python_m_verify_and_version(tmp_path):
    import subprocess
    import sys

    import verify

    proc = subprocess.run([sys.executable, "-m", "verify", "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == f"softmax-verify {verify.__version__}\n" and proc.stderr == ""
    proc = subprocess.run([sys.executable, "-m", "verify", "bogus"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.startswith("verify: error:") and "Traceback" not in proc.stderr


def test_claim_accepted_and_rejected(capsys):
    code, out, _ = run(capsys, "claim", "gaussian-limit", "--formula", "V*(m + Gamma*K.T*Q*z)")
    assert code == 0 and out.startswith("EQUAL (proved)")
    code, out, _ = run(capsys, "claim", "gaussian-limit", "--formula", "V*(Gamma + m*m.T)*K.T*Q*z")
    assert code == 1 and out.startswith("DIFFERENT") and "largest relative difference" in out
    code, out, _ = run(capsys, "claim", "linear-limit", "--formula", "V*(Gamma + m*m.T)*K.T*Q*z", "--json")
    assert code == 0 and json.loads(out)["accepted"] is True


def test_claim_help_documents_symbols(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["claim", "--help"])
    out = capsys.readouterr().out
    assert exc.value.code == 0 and "Gamma" in out and "gaussian-limit" in out
