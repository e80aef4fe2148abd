"""Mutation testing of the engine's numeric functions: an opt-in campaign, not part of the test suite.

The statements' closed forms are mutated by ``verify selftest --mutate``; this script mutates the *engine code* that a
statement's subject or a study's findings depend on (an attention kernel, a Monte Carlo estimator, a training step) at
the source level with cosmic-ray, and runs the statement's checks and tests against each mutant.  A mutant that every
test survives is a hole: a new check must kill it, or the report must say why it is equivalent.

    python campaigns/engine_mutants.py verify/numerics/attention.py \
        --tests "tests/statements.verify -k 'gaussian-limit or linear-limit' tests/test_gaussian_limit.py" \
        --timeout 300 -o campaigns/reports/attention.md

The repository is copied to a scratch directory first (cosmic-ray rewrites the module in place there), and the
copy is put first on PYTHONPATH, so the working tree is never touched.  Needs ``pip install cosmic-ray``.

``--functions a,b`` runs only the mutants inside those functions (the others are reported as out of scope);
``--keep-session PATH`` keeps cosmic-ray's session database, and ``--rerun-survivors PATH`` starts from such a
kept session and runs again only its surviving mutants with the (new) test command: a mutant killed before is
still killed when tests are only added, so the counts after a round of new tests cost one run per survivor.
Operators kept: the arithmetic ones a slip produces (+ <-> -, * <-> /, ** <-> *, numbers +-1, a sign dropped,
comparisons moved, loops that run zero times); bit operations, shifts, modulo and floor division are left out.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXCLUDED_OPERATORS = [r".*BitOr.*", r".*BitAnd.*", r".*BitXor.*", r".*LShift.*", r".*RShift.*", r".*Mod.*",
                      r".*FloorDiv.*", r"core/ExceptionReplacer", r"core/RemoveDecorator", r"core/VariableInserter",
                      r"core/VariableReplacer", r"core/ReplaceContinueWithBreak", r"core/ReplaceBreakWithContinue"]


def _config(module: str, tests: str, timeout: float) -> str:
    excluded = ", ".join(json.dumps(x) for x in EXCLUDED_OPERATORS)
    command = f"{sys.executable} -m pytest -x -q -p no:cacheprovider {tests}"
    return (f'[cosmic-ray]\nmodule-path = "{module}"\ntimeout = {timeout}\nexcluded-modules = []\n'
            f'test-command = {json.dumps(command)}\n\n[cosmic-ray.distributor]\nname = "local"\n\n'
            f'[cosmic-ray.filters.operators-filter]\nexclude-operators = [{excluded}]\n')


def _run(args: list, cwd: Path, env: dict, timeout: float | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


OUT_OF_SCOPE = "outside --functions"


def _scope(session: Path, functions: list[str]) -> None:
    """Mark every not yet decided mutant outside ``functions`` (top-level names) as skipped, out of scope."""
    with sqlite3.connect(session) as db:
        rows = db.execute("SELECT s.job_id, s.definition_name FROM mutation_specs s LEFT JOIN work_results r "
                          "ON r.job_id = s.job_id WHERE r.job_id IS NULL").fetchall()
        out = [(job, OUT_OF_SCOPE) for job, name in rows if (name or "").split(".")[0] not in functions]
        db.executemany("INSERT INTO work_results (job_id, worker_outcome, output) VALUES (?, 'SKIPPED', ?)",
                       [(job, text) for job, text in out])


def _forget_survivors(session: Path) -> int:
    """Drop the results of the surviving mutants so that ``cosmic-ray exec`` runs them again."""
    with sqlite3.connect(session) as db:
        return db.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED'").rowcount


def campaign(module: str, tests: str, timeout: float = 300.0, functions: list[str] | None = None,
             keep_session: str | None = None, rerun_survivors: str | None = None) -> dict:
    """Run cosmic-ray on ``module`` with ``tests`` as the test command in a scratch copy; the counts and survivors."""
    scratch = Path(tempfile.mkdtemp(prefix="engine-mutants-"))
    for name in ("verify", "proofs", "tests", "pyproject.toml"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, scratch / name)
    env = dict(os.environ, PYTHONPATH=str(scratch))
    cfg, session = scratch / "cosmic-ray.toml", scratch / "session.sqlite"
    cfg.write_text(_config(module, tests, timeout))
    bindir = Path(shutil.which("cosmic-ray") or "cosmic-ray").parent
    t0 = time.time()
    if rerun_survivors:
        shutil.copy(rerun_survivors, session)
        rerun = _forget_survivors(session)
        steps = [["cosmic-ray", "baseline", str(cfg)]]
    else:
        steps = [["cosmic-ray", "init", str(cfg), str(session)], ["cr-filter-operators", str(session), str(cfg)],
                 ["cosmic-ray", "baseline", str(cfg)]]
    for step in steps:
        out = _run([str(bindir / step[0]), *step[1:]], scratch, env)
        if out.returncode != 0:
            raise SystemExit(f"{' '.join(step[:2])} failed:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
        if functions and step[0] == "cr-filter-operators":
            _scope(session, functions)
    _run([str(bindir / "cosmic-ray"), "exec", str(cfg), str(session)], scratch, env)
    dump = _run([str(bindir / "cosmic-ray"), "dump", str(session)], scratch, env).stdout
    counts, survivors = Counter(), []
    for line in dump.splitlines():
        item, result = json.loads(line)
        if result is None:
            counts["not run"] += 1
            continue
        outcome = result.get("test_outcome") or result.get("worker_outcome")
        if outcome == "skipped":
            outcome = "out of scope" if result.get("output") == OUT_OF_SCOPE else "operator filtered"
        counts[outcome] += 1
        if outcome == "survived":
            mut = item["mutations"][0]
            survivors.append({"line": mut["start_pos"][0], "operator": mut["operator_name"],
                              "occurrence": mut["occurrence"], "diff": result.get("diff", "")})
    if keep_session:
        shutil.copy(session, keep_session)
    shutil.rmtree(scratch, ignore_errors=True)
    return {"module": module, "tests": tests, "counts": dict(counts), "survivors": survivors,
            "seconds": round(time.time() - t0, 1), "functions": functions,
            "rerun": rerun if rerun_survivors else None}


def report(result: dict) -> str:
    c = result["counts"]
    ran = sum(v for k, v in c.items() if k not in ("operator filtered", "out of scope"))
    scope = f" in {', '.join(result['functions'])}" if result.get("functions") else ""
    rerun = (f" This run re-ran only the {result['rerun']} survivors of a kept session; the other results are that "
             f"session's." if result.get("rerun") is not None else "")
    lines = [f"# Engine mutants of `{result['module']}`", "",
             f"Tests: `{result['tests']}`; {result['seconds']} s.{rerun}", "",
             f"{ran} mutants run{scope}: {c.get('killed', 0)} killed, {c.get('survived', 0)} survived, "
             f"{ran - c.get('killed', 0) - c.get('survived', 0)} other (all outcomes: {c}).", ""]
    for s in result["survivors"]:
        lines += [f"## line {s['line']}: {s['operator']} (occurrence {s['occurrence']})", "", "```diff",
                  s["diff"].strip(), "```", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("module", help="the engine module to mutate, e.g. verify/numerics/attention.py")
    p.add_argument("--tests", required=True, help="pytest arguments selecting the checks and tests that must kill")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per mutant (default 300)")
    p.add_argument("--functions", help="comma-separated top-level function names: mutate only inside these")
    p.add_argument("--keep-session", metavar="PATH", help="keep cosmic-ray's session database here")
    p.add_argument("--rerun-survivors", metavar="PATH", help="re-run only the survivors of this kept session")
    p.add_argument("-o", "--output", help="write the markdown report here")
    args = p.parse_args(argv)
    functions = [f.strip() for f in args.functions.split(",") if f.strip()] if args.functions else None
    result = campaign(args.module, args.tests, args.timeout, functions, args.keep_session, args.rerun_survivors)
    text = report(result)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text + "\n")
    print(text)
    return 0 if not result["survivors"] else 1


if __name__ == "__main__":
    sys.exit(main())
