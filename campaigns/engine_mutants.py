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
Operators kept: the arithmetic ones a slip produces (+ <-> -, * <-> /, ** <-> *, numbers +-1, a sign dropped,
comparisons moved, loops that run zero times); bit operations, shifts, modulo and floor division are left out.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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


def campaign(module: str, tests: str, timeout: float = 300.0) -> dict:
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
    for step in (["cosmic-ray", "init", str(cfg), str(session)],
                 ["cr-filter-operators", str(session), str(cfg)],
                 ["cosmic-ray", "baseline", str(cfg)]):
        out = _run([str(bindir / step[0]), *step[1:]], scratch, env)
        if out.returncode != 0:
            raise SystemExit(f"{' '.join(step[:2])} failed:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
    _run([str(bindir / "cosmic-ray"), "exec", str(cfg), str(session)], scratch, env)
    dump = _run([str(bindir / "cosmic-ray"), "dump", str(session)], scratch, env).stdout
    counts, survivors = Counter(), []
    for line in dump.splitlines():
        item, result = json.loads(line)
        if result is None:
            counts["not run"] += 1
            continue
        outcome = result.get("test_outcome") or result.get("worker_outcome")
        counts[outcome] += 1
        if outcome == "survived":
            mut = item["mutations"][0]
            survivors.append({"line": mut["start_pos"][0], "operator": mut["operator_name"],
                              "occurrence": mut["occurrence"], "diff": result.get("diff", "")})
    shutil.rmtree(scratch, ignore_errors=True)
    return {"module": module, "tests": tests, "counts": dict(counts), "survivors": survivors,
            "seconds": round(time.time() - t0, 1)}


def report(result: dict) -> str:
    c = result["counts"]
    total = sum(c.values())
    lines = [f"# Engine mutants of `{result['module']}`", "",
             f"Tests: `{result['tests']}`; {result['seconds']} s.", "",
             f"{total} mutants: {c.get('killed', 0)} killed, {c.get('survived', 0)} survived, "
             f"{total - c.get('killed', 0) - c.get('survived', 0)} other (timeouts, errors, not run: {c}).", ""]
    for s in result["survivors"]:
        lines += [f"## line {s['line']}: {s['operator']} (occurrence {s['occurrence']})", "", "```diff",
                  s["diff"].strip(), "```", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("module", help="the engine module to mutate, e.g. verify/numerics/attention.py")
    p.add_argument("--tests", required=True, help="pytest arguments selecting the checks and tests that must kill")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per mutant (default 300)")
    p.add_argument("-o", "--output", help="write the markdown report here")
    args = p.parse_args(argv)
    result = campaign(args.module, args.tests, args.timeout)
    text = report(result)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text + "\n")
    print(text)
    return 0 if not result["survivors"] else 1


if __name__ == "__main__":
    sys.exit(main())
