"""The ``verify`` command line (also ``python -m verify``).

    verify list                                    statements with the paper's numbering and declared verdicts
    verify run [ID...] [--json] [--seed N] [--slow] [--workers N | --scheduler ADDR] [--log FILE]  check derivations and run evidence, one verdict per statement; exit 0/1
    verify run [ID...] --mutants [--json]          every check on its planted mutants: each must go red
    verify latex [ID...] -o FILE.tex [--pdf]       a standalone LaTeX document (and PDF)
    verify claim ID --formula "EXPR"               check your own closed form; ACCEPTED / REJECTED
    verify selftest [ID...] [--full] [--json]      mutant formulas rejected, rewritings accepted, seeds
    verify audit [--quick] [--json] [-o DIR] [--seed N] [--workers N | --scheduler ADDR] [--log FILE]  Props 3.1/3.4 measured
    verify train [--quick] [--json] [-o DIR] [--seed N]  gradient flow at L = inf, the init interval audited
    verify dynamics [--quick] [--json] [-o DIR] [--seed N]  Gaussian attention dynamics: particles, blow-up, collapse
    verify mixture [-o DIR] [--json]               softmax on a Gaussian mixture: T(z) vs affine fit, gap vs separation
    verify report -o DIR [--quick] [--from DIR...]  one HTML page (findings first, figures inline) + LaTeX/PDF appendix

Long commands show a progress bar on stderr when it is a terminal (plain lines or nothing otherwise); -q/--quiet
silences it.  ``-o DIR`` (and the directory of ``-o FILE.tex``) is created with its parents.

Exit status: 0 all good, 1 a check failed or a formula was rejected, 2 bad usage or bad input (one line on
stderr).  Bad input is what the arguments name: an option, a statement or claim id, a formula, an output path,
a missing optional tool; it is refused before any computing (a formula, while it is judged).  Any other error is
a defect of the toolkit and keeps its traceback.

This module is the only one that knows the command line; it imports what a command needs when the command runs,
so ``verify --version`` and ``verify --help`` load nothing of the toolkit.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import time
from pathlib import Path

__all__ = ["main", "UsageError"]


class UsageError(Exception):
    """Bad usage or bad input: one line on stderr, exit status 2."""


@contextlib.contextmanager
def _bad_input(*kinds: type[Exception]):
    """Inside the block, a ``ValueError``/``TypeError`` (or ``kinds``) refuses what the user gave: it becomes a
    :class:`UsageError`.  Outside such a block an exception is a defect and keeps its traceback."""
    try:
        yield
    except kinds or (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from exc


class _Parser(argparse.ArgumentParser):
    """One line and exit 2 on a parse error (argparse would print the whole usage); ``epilog_factory`` renders
    the epilog only when the help is asked for (``verify claim --help`` lists every claim's symbols)."""

    def __init__(self, *args, epilog_factory=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._epilog_factory = epilog_factory

    def error(self, message):
        raise UsageError(f"{message} (see 'verify --help')")

    def format_help(self):
        if self._epilog_factory is not None and self.epilog is None:
            self.epilog = self._epilog_factory()
        return super().format_help()


class _Version(argparse.Action):
    """--version: the installed package's version, looked up only when asked for."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                 help="show the version and exit"):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from verify import __version__

        print(f"softmax-verify {__version__}")
        parser.exit()


def _claims_help() -> str:
    from verify.kernel.registry import claim_specs

    lines = ["claims and their symbols:"]
    for spec in claim_specs().values():
        lines.append(f"\n  {spec.id}: {spec.summary}")
        lines += ["    " + ln for ln in spec.symbols_help.splitlines()]
        if spec.coverage:
            lines += ["    points: " + ln if i == 0 else "      " + ln for i, ln in enumerate(spec.coverage.splitlines())]
        for name, meaning in spec.assumptions.items():
            lines.append(f"    --assume {name}: {meaning}")
        lines.append(f"    example: verify claim {spec.id} --formula \"{spec.example}\"")
    lines.append("\nA formula is compared exactly with the claim's closed form: EQUAL (proved; exit 0) by exact rational "
                 "evaluation at random integer points, every d up to the formula's degree as a matrix polynomial, with "
                 "the Schwartz-Zippel failure probability stated; DIFFERENT (exit 1) with a counterexample whose Arb "
                 "enclosure excludes 0; UNDECIDED (exit 3) when neither concludes. The formula is also compared with "
                 "the definition (quadrature) at the reference points: the second, independent line of evidence. "
                 "--assume NAME imposes a hypothesis of the claim.")
    return "\n".join(lines)


def _seed(text: str) -> int:
    """argparse type of --seed: a non-negative integer, or a one-line error naming --seed."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _progress(args, lines: bool = True):
    """The progress sink of a long command: a bar on a terminal's stderr, else ``lines`` on stderr or nothing;
    silent with -q/--quiet; never on stdout.  A context manager: the bar is gone before an error line."""
    from verify.progress import Progress

    return Progress(quiet=getattr(args, "quiet", False), lines=lines)


def _output_directory(text) -> Path:
    """-o DIR: created with its parents (:func:`verify.studies.figures.output_dir`); a file in the way or a
    directory that cannot be written is refused naming -o/--output."""
    from verify.studies.figures import output_dir

    return output_dir(text)


def _output_tex(text: str) -> Path:
    """-o FILE.tex: its directory is created with its parents; a name without .tex, or a directory, is refused."""
    out = Path(text)
    if out.suffix != ".tex":
        raise ValueError(f"-o/--output: expected a .tex file name, got {text!r}")
    if out.is_dir():
        raise ValueError(f"-o/--output: {text!r} is a directory")
    _output_directory(out.parent if str(out.parent) else Path("."))
    return out


def _backend_options(p: argparse.ArgumentParser, prefix: str) -> None:
    """--workers N / --scheduler ADDRESS (verify.sweep): where the cells run; the result does not depend on it."""
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_count, default=None, metavar="N",
                       help=f"{prefix}run the cells on a Dask LocalCluster of N processes on this machine "
                       "(default: in-process; needs pip install -e '.[distributed]')")
    where.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help=f"{prefix}run the cells on the running Dask cluster at ADDRESS (tcp://HOST:PORT)")


def _directory_option(p: argparse.ArgumentParser, help: str, required: bool = False) -> None:
    """-o/--output DIR of a command writing several files: made ready (created) before the command computes."""
    p.add_argument("-o", "--output", metavar="DIR", required=required, help=help)
    p.set_defaults(output_is_directory=True)


def _check_common_options(args) -> None:
    """The options several commands share, refused before any computing: -o DIR, --workers/--scheduler (is Dask
    installed?), --log FILE."""
    if getattr(args, "output_is_directory", False) and args.output:
        _output_directory(args.output)
    if getattr(args, "workers", None) or getattr(args, "scheduler", None):
        from verify.sweep import Backend

        Backend(args.workers, args.scheduler)  # validates; starts nothing
        if args.scheduler:
            _reachable(args.scheduler)
    log = getattr(args, "log", None)
    if log:
        path = Path(log)
        if path.is_dir():
            raise ValueError(f"--log: {log!r} is a directory")
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir():
            raise ValueError(f"--log: directory {str(parent)!r} does not exist")


def _reachable(address: str, timeout: float = 10.0) -> None:
    """--scheduler tcp://HOST:PORT: something listens there (other schemes are left to Dask)."""
    import socket
    from urllib.parse import urlsplit

    where = urlsplit(address if "://" in address else f"tcp://{address}")
    if where.scheme != "tcp" or not where.hostname:
        return
    try:
        with socket.create_connection((where.hostname, where.port or 8786), timeout=timeout):
            pass
    except (OSError, ValueError) as exc:
        raise ValueError(f"--scheduler: cannot reach {address!r} ({exc})") from None


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="verify", description="softmax-verify: machine-checked statements of Boursier & Boyer "
                "(arXiv 2512.11784) and the results it leans on.")
    p.add_argument("--version", action=_Version)
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("list", help="statement ids with paper numbering, declared verdicts and one-line descriptions")

    run = sub.add_parser("run", help="check derivations and run the evidence; end with one verdict per statement")
    run.add_argument("ids", nargs="*", metavar="ID", help="statement ids (default: all)")
    run.add_argument("--json", action="store_true",
                     help="print JSON records instead of the tables: one per evidence item, then one verdict per statement")
    run.add_argument("--seed", type=_seed, default=0, help="master seed (default 0)")
    run.add_argument("--slow", action="store_true", help="also run the slow checks")
    run.add_argument("--no-derivations", action="store_true", help="skip the symbolic derivations")
    run.add_argument("-v", "--verbose", action="store_true", help="print every record's detail")
    _backend_options(run, "")
    run.add_argument("--log", metavar="FILE", help="append each finished record to FILE (JSON lines); a rerun with the "
                     "same arguments skips the records already there")
    run.add_argument("--mutants", action="store_true",
                     help="run every check on its planted mutants instead: each must go red (exit 1 if one stays green)")

    tex = sub.add_parser("latex", help="write a standalone LaTeX document")
    tex.add_argument("ids", nargs="*", metavar="ID", help="statement ids (default: all)")
    tex.add_argument("-o", "--output", required=True, help="output .tex file (its directory is created)")
    tex.add_argument("--pdf", action="store_true", help="also run pdflatex (when on PATH)")
    tex.add_argument("--seed", type=_seed, default=0, help="master seed of the evidence (default 0)")
    tex.add_argument("--no-evidence", action="store_true",
                     help="run nothing: empty evidence tables, declared verdicts (faster)")

    st = sub.add_parser("selftest", help="measure sensitivity and specificity: mutant formulas, rewritings, seeds")
    st.add_argument("ids", nargs="*", metavar="ID", help="claim ids for the catalogue (default: all)")
    st.add_argument("--full", action="store_true", help="also run every statement's evidence over many seeds")
    st.add_argument("--seeds", type=_count, default=200, help="number of seeds with --full (default 200)")
    _backend_options(st, "with --full: ")
    st.add_argument("--seed", type=_seed, default=0, help="seed of the claim points (default 0)")
    st.add_argument("--sweep", action="append", default=[], metavar="STATEMENT",
                    help="with --full: sweep only this statement's evidence (repeatable; default: every statement)")
    st.add_argument("--log", metavar="FILE", help="with --full: append each cell's result to FILE as it finishes; "
                    "cells already in FILE are not run again (resume)")
    st.add_argument("--json", action="store_true", help="print one JSON document (timings under 'seconds' keys)")
    st.add_argument("--mutate", action="store_true",
                    help="instead: generate mutants of each statement's closed form (IDs are statement ids), discard "
                         "those proved equivalent, score the others on the statement's checks; survivors fail")

    aud = sub.add_parser("audit", help="measure Props 3.1/3.4: error curves to L = 1e12 (exact) and 1e60, fits, findings")
    aud.add_argument("--quick", action="store_true", help="a small subset (about a minute)")
    aud.add_argument("--json", action="store_true", help="print one JSON object (measurements, fits, findings)")
    _directory_option(aud, "write report.md, audit.json and PNG figures into DIR")
    aud.add_argument("--seed", type=_seed, default=0, help="master seed of the Monte Carlo cells (default 0)")
    _backend_options(aud, "")
    aud.add_argument("--log", metavar="FILE", help="append each finished cell to FILE (JSON lines); a rerun with the "
                     "same arguments skips the cells already there (resume an interrupted audit)")

    tr = sub.add_parser("train", help="training at L = inf and finite L (Thm 4.3, 5.1/5.2), the alpha interval, SGD")
    tr.add_argument("--quick", action="store_true", help="fewer cases, L values, seeds and steps (about 1 minute)")
    tr.add_argument("--json", action="store_true", help='print {"runs", "fits", "findings"} as JSON')
    _directory_option(tr, "write train.json, init_interval.csv and the figures into DIR")
    tr.add_argument("--part", action="append", choices=("infinite", "finite", "sgd"),
                    help="run only this part (repeatable; default all: L = inf flows and the alpha interval, "
                         "finite-L GD, the authors' SGD experiment)")
    _backend_options(tr, "")
    tr.add_argument("--log", metavar="FILE", help="append each finished part to FILE (JSON lines); a rerun with the "
                    "same arguments skips the parts already there")
    tr.add_argument("--seed", type=_seed, default=0, help="seed of Theta and of the random Sigma (default 0)")

    dy = sub.add_parser("dynamics", help="Gaussian attention dynamics: particles vs moment ODEs, blow-up, collapse")
    dy.add_argument("--quick", action="store_true", help="smaller N (about a minute)")
    dy.add_argument("--json", action="store_true", help="print the study as JSON")
    _directory_option(dy, "write dynamics.json and PNG figures into DIR")
    dy.add_argument("--seed", type=_seed, default=0, help="master seed of the particles (default 0)")

    mx = sub.add_parser("mixture", help="softmax attention on a Gaussian mixture: non-affinity vs component separation")
    _directory_option(mx, "write mixture.png and mixture.json into DIR")
    mx.add_argument("--json", action="store_true", help="print the separation study as JSON")

    rp = sub.add_parser("report", help="one HTML page: statements, audit and training; findings first; + LaTeX/PDF")
    _directory_option(rp, "write report.html, appendix.tex (and .pdf) into DIR; absent inputs are run and saved here",
                      required=True)
    rp.add_argument("--from", dest="from_dirs", nargs="+", default=[], metavar="DIR",
                    help="read verify run --json records (*.json), audit.json and train.json from these directories")
    rp.add_argument("--quick", action="store_true", help="run the absent audit and training quick")
    rp.add_argument("--seed", type=_seed, default=0, help="master seed of what is run (default 0)")
    rp.add_argument("--no-pdf", action="store_true", help="write appendix.tex only (no pdflatex)")
    for sp in (run, tex, st, aud, tr, dy, mx, rp):
        sp.add_argument("-q", "--quiet", action="store_true", help="no progress display on stderr")

    claim = sub.add_parser("claim", help="decide a candidate closed form: EQUAL (proved), DIFFERENT, UNDECIDED",
                           epilog_factory=_claims_help, formatter_class=argparse.RawDescriptionHelpFormatter)
    claim.add_argument("claim_id", metavar="ID", help="claim id: a statement id, or <statement id>:<part> (see below)")
    claim.add_argument("--formula", required=True, help="expression in the claim's symbols (a leading - is fine)")
    claim.add_argument("--seed", type=_seed, default=0, help="seed of the random points (default 0)")
    claim.add_argument("--json", action="store_true", help="print the verdict as JSON (exact decision, counterexample, "
                       "the table of reference points)")
    claim.add_argument("--assume", action="append", default=[], metavar="NAME",
                       help="impose a hypothesis of the claim (repeatable; listed below per claim)")
    claim.add_argument("--save-counterexample", metavar="FILE", default=None,
                       help="on DIFFERENT, write the exact counterexample (JSON, rationals as p/q) to FILE")
    claim.add_argument("--at", metavar="FILE", default=None,
                       help="instead of deciding, evaluate formula - closed form at the point saved in FILE")
    return p


def _cmd_list(args) -> int:
    from verify.kernel.registry import catalogue
    from verify.reports.table import format_list

    print(format_list(catalogue()))
    return 0


def _cmd_run(args) -> int:
    if args.mutants and (args.workers or args.scheduler or args.log):
        raise UsageError("--mutants: runs in-process (no --workers, --scheduler or --log)")
    from verify.kernel.registry import statements
    from verify.kernel.runner import run_mutants, run_statements
    from verify.reports.table import format_mutants, format_table, format_verdicts, to_json

    with _progress(args, lines=not args.json) as progress:
        if progress.bar:  # a status on the bar only: the log lines stay "[k/n] ..." records
            progress("loading the statements")
        with _bad_input():
            sts = statements(args.ids)
        if args.mutants:
            records = run_mutants(sts, seed=args.seed, slow=args.slow, progress=progress)
        else:
            records = run_statements(sts, seed=args.seed, slow=args.slow, derivations=not args.no_derivations,
                                     progress=progress, workers=args.workers, scheduler=args.scheduler, log=args.log)
    if args.mutants:
        print(to_json(records, provenance=_provenance(args)) if args.json else format_mutants(records))
        return 0 if all(r.caught for r in records) else 1
    if args.json:
        print(to_json(records, statements=sts, provenance=_provenance(args)))
    else:
        print(format_table(records, verbose=args.verbose, statements=sts))
        print()
        print(format_verdicts(sts, records))
    return 0 if all(r.passed for r in records) else 1


def _cmd_latex(args) -> int:
    with _bad_input():
        if args.pdf and shutil.which("pdflatex") is None:
            raise ValueError("--pdf: pdflatex is not on PATH (Debian: apt-get install texlive-latex-base)")
        out = _output_tex(args.output)
    from verify.kernel.registry import statements
    from verify.kernel.runner import run_statements
    from verify.reports.latex import compile_pdf, document

    with _progress(args, lines=False) as progress:
        progress("loading the statements")
        with _bad_input():
            sts = statements(args.ids)
        evidence = {}
        if not args.no_evidence:
            for k, st in enumerate(sts, 1):
                progress(f"[{k - 1}/{len(sts)}] derivations and evidence of {st.id}")  # k - 1 done while st runs
                evidence[st.id] = run_statements([st], seed=args.seed)  # the verdict needs both
        for k, st in enumerate(sts, 1):
            progress(f"[{k - 1}/{len(sts)}] derivations of {st.id}")
            st.built_derivations()
        out.write_text(document(sts, evidence))
    print(f"wrote {out}")
    if args.pdf:
        try:
            with _progress(args, lines=False) as progress:
                progress("pdflatex")
                compiled = compile_pdf(out)
        except RuntimeError as exc:
            print(f"verify: {exc}", file=sys.stderr)
            return 1
        print(f"wrote {compiled.pdf}")
    return 0


def _cmd_claim(args) -> int:
    """EQUAL (exit 0), DIFFERENT (exit 1), UNDECIDED (exit 3); bad input exits 2."""
    from verify.kernel.claim import check_formula, difference_at
    from verify.kernel.decide import Counterexample
    from verify.kernel.registry import find_claim
    from verify.reports.claim import counterexample_document, format_verdict

    with _bad_input():
        spec = find_claim(args.claim_id)
        saved = None
        if args.at:
            try:
                saved = Counterexample.from_json(json.loads(Path(args.at).read_text()))
            except (OSError, json.JSONDecodeError) as exc:
                raise ValueError(f"--at: cannot read a counterexample from {args.at!r}: {exc}") from None
        if args.save_counterexample:
            target = Path(args.save_counterexample)
            if target.is_dir() or not (target.parent if str(target.parent) else Path(".")).is_dir():
                raise ValueError(f"--save-counterexample: {args.save_counterexample!r} is not a file in an existing directory")
    if saved is not None:
        with _bad_input():
            found = difference_at(spec, args.formula, saved)
        if args.json:
            print(json.dumps({"claim": spec.id, "formula": args.formula, "at": args.at,
                              "different": found is not None, "difference": found[0] if found else None,
                              "bits": found[1] if found else None}))
        elif found is None:
            print(f"AGREES at the saved point: {spec.id}: {args.formula} (every enclosure of the difference contains 0)")
        else:
            print(f"DIFFERENT at the saved point: {spec.id}: {args.formula}\n  entry {tuple(found[2])} of formula - "
                  f"closed form is {found[0]} (0 excluded, Arb at {found[1]} bits)")
        return 1 if found is not None else 0
    with _bad_input(ValueError):  # the formula, an --assume name, or a formula the points cannot evaluate
        verdict = check_formula(spec, args.formula, seed=args.seed, assume=tuple(args.assume))
    if args.save_counterexample and verdict.verdict == "DIFFERENT" and verdict.decision is not None:
        Path(args.save_counterexample).write_text(json.dumps(counterexample_document(verdict), indent=1) + "\n")
    if args.json:
        print(json.dumps({**verdict.to_dict(), "provenance": _provenance(args)}))
    else:
        print(format_verdict(verdict, width=max(80, shutil.get_terminal_size((100, 24)).columns)))
        if args.save_counterexample and verdict.verdict == "DIFFERENT":
            print(f"  saved the counterexample to {args.save_counterexample}; re-check a formula there with --at")
    return {"EQUAL": 0, "DIFFERENT": 1}.get(verdict.verdict, 3)


def _cmd_selftest(args) -> int:
    for flag, value in (("--sweep", args.sweep), ("--log", args.log), ("--workers", args.workers),
                        ("--scheduler", args.scheduler)):
        if value and not args.full:
            raise UsageError(f"{flag}: only with --full")
    if args.mutate and args.full:
        raise UsageError("--mutate: runs alone (not with --full)")
    from verify.studies import selftest

    if args.mutate:
        return _selftest_mutate(args, selftest)

    with _bad_input():
        selftest.catalogue(args.ids)  # unknown claim ids
        _, excluded = selftest.sweep_checks(args.sweep) if args.full else ([], [])
    t0 = time.perf_counter()
    with _progress(args, lines=False) as progress:
        records = selftest.run_claim_catalogue(args.ids, seed=args.seed, progress=progress, exit_code=main)
        summary = selftest.summarise_claims(records)
        seeds, sweep = [], {}
        if args.full:
            seeds = selftest.run_seed_sweep(range(args.seeds), ids=args.sweep, workers=args.workers,
                                            progress=progress, log=args.log, scheduler=args.scheduler)
            sweep = selftest.summarise_seeds(seeds, args.seeds, excluded)
    ok = not summary["failures"] and all(s.failures == 0 for s in seeds)
    if args.json:
        doc = {"claims": summary, "claim_records": [r.to_dict() for r in records],
               "sweep": sweep, "seeds": [s.to_dict() for s in seeds], "ok": ok, "seconds": time.perf_counter() - t0,
               "provenance": _provenance(args)}
        print(json.dumps(doc, default=str))
    else:
        print(f"claims: {summary['rejected']}/{summary['mutants']} wrong formulas rejected "
              f"({summary['rejection_rate']:.0%}), {summary['accepted']}/{summary['rewritings']} rewritings accepted; "
              f"smallest discrepancy caught {summary['smallest_discrepancy_caught']:.3g}")
        for cid, c in summary["per_claim"].items():
            print(f"  {cid}: {c['rejected']}/{c['mutants']} mutants rejected, {c['accepted']}/{c['rewritings']} rewritings accepted")
        for f in summary["failures"]:
            print(f"  WRONG: {f['claim']} expected {f['expected']}: {f['formula']} ({f['detail']})")
        if seeds:
            top = f"{sweep['largest_abs_z']:.3g} ({sweep['largest_abs_z_at']})" if sweep["z_test_cells"] else "none"
            if sweep["z_test_cells"] and sweep["largest_abs_z"] != sweep["largest_finite_abs_z"]:
                top += f", largest finite {sweep['largest_finite_abs_z']:.3g} ({sweep['largest_finite_abs_z_at']})"
            print(f"seeds: {sweep['seeds']} seeds x {sweep['checks']} checks: {sweep['failures']} failures; largest |z| "
                  f"{top}; P(|Z| > 5) = {sweep['false_alarm_rate_per_comparison']:.2g} per comparison, "
                  f"{sweep['expected_false_alarms']:.2g} false alarms expected over {sweep['z_test_cells']} z-test cells")
            if sweep["seed_independent"]:
                print(f"  seed-independent (evaluated twice, same bits): {', '.join(sweep['seed_independent'])}")
            if sweep["excluded_slow"]:
                print(f"  slow checks not swept: {', '.join(sweep['excluded_slow'])}")
            for s in seeds:
                if s.failures:
                    print(f"  FAIL {s.id}::{s.name} at seeds {list(s.failed_seeds)[:10]}")
        print(f"selftest {'passed' if ok else 'FAILED'} in {time.perf_counter() - t0:.1f}s")
    return 0 if ok else 1


def _selftest_mutate(args, selftest) -> int:
    from verify.kernel.registry import get_statement

    with _bad_input():
        for i in args.ids:
            get_statement(i)
    t0 = time.perf_counter()
    with _progress(args, lines=False) as progress:
        campaigns = selftest.run_mutation_campaigns(args.ids, seed=args.seed, progress=progress)
    summary = selftest.summarise_campaigns(campaigns)
    ok = summary["survived"] == 0
    if args.json:
        print(json.dumps({"summary": summary, "campaigns": campaigns, "ok": ok, "seconds": time.perf_counter() - t0,
                          "provenance": _provenance(args)}, default=str))
        return 0 if ok else 1
    print(f"generated mutants of the closed forms: {summary['generated']} generated, {summary['equivalent']} proved "
          f"equivalent, {summary['killed']} killed, {summary['survived']} survived")
    for c in campaigns:
        counts = f"{c['generated']} generated, {c['equivalent']} equivalent, {c['killed']} killed, {c['survived']} survived"
        print(f"  {c['id']}: {counts}" + (f" ({c['note']})" if c["note"] else ""))
    for s in summary["survivors"]:
        print(f"  SURVIVED {s['statement']}: {s['mutant']}: {s['formula']} (green: {', '.join(s['green']) or 'no check'})")
    print(f"selftest --mutate {'passed' if ok else 'FAILED'} in {time.perf_counter() - t0:.1f}s")
    return 0 if ok else 1


def _cmd_audit(args) -> int:
    return _run_study("verify.studies.audit", args, workers=args.workers, scheduler=args.scheduler, log=args.log)


def _run_study(module: str, args, **options) -> int:
    """A study command (``verify audit / train / dynamics / mixture``): the study module keeps the protocol of
    :mod:`verify.studies` (run, ok, summary, write).  A bad -o DIR is refused before any computing; the result is
    printed as JSON or as the study's summary; the exit status is 0 when the study's own checks held, else 1."""
    import importlib

    from verify.studies.figures import output_dir

    study = importlib.import_module(module)
    out = output_dir(args.output) if getattr(args, "output", None) else None
    progress = _progress(args, lines=not args.json)
    result = study.run(quick=getattr(args, "quick", False), seed=getattr(args, "seed", 0), progress=progress, **options)
    progress.close()
    result["provenance"] = _provenance(args)
    written = study.write(result, out) if out is not None else []
    print(json.dumps(result, default=float) if args.json else study.summary(result))
    for p in written if not args.json else []:
        print(f"wrote {p}")
    return 0 if study.ok(result) else 1


COMMANDS = {"list": _cmd_list, "run": _cmd_run, "latex": _cmd_latex, "claim": _cmd_claim, "selftest": _cmd_selftest,
            "audit": _cmd_audit}


def _cmd_train(args) -> int:
    return _run_study("verify.studies.train", args, parts=tuple(args.part) if args.part else None,
                      workers=args.workers, scheduler=args.scheduler, log=args.log)


COMMANDS["train"] = _cmd_train


def _cmd_dynamics(args) -> int:
    return _run_study("verify.studies.dynamics", args)


COMMANDS["dynamics"] = _cmd_dynamics


def _cmd_mixture(args) -> int:
    return _run_study("verify.studies.mixture", args)


COMMANDS["mixture"] = _cmd_mixture


# The studies ``verify report`` runs when their saved output is absent: (name, module, run, write) of the study
# protocol of verify.studies.  The saved output (``DIR/<name>/<name>.json`` and its figures) is then read back like
# any other.
_REPORT_STUDIES = (
    ("audit", "verify.studies.audit", "run", "write"),
    ("train", "verify.studies.train", "run", "write"),
)


def _cmd_report(args) -> int:
    """Read what is saved (in -o DIR and the --from directories), run and save what is absent, render the page."""
    import importlib

    from verify.reports import html

    with _bad_input():
        out = _output_directory(args.output)
        for d in args.from_dirs:
            if not Path(d).is_dir():
                raise ValueError(f"--from: {str(d)!r} is not a directory")
    dirs = [out, *args.from_dirs]
    inputs = html.load_inputs(dirs)
    ran = []
    with _progress(args) as progress:
        if inputs.records is None:
            from verify.kernel.registry import statements
            from verify.kernel.runner import run_statements
            from verify.reports.table import to_json

            progress("statements: loading")
            sts = statements()
            records = run_statements(sts, seed=args.seed, progress=progress)
            (out / "run.json").write_text(to_json(records, statements=sts, provenance=_provenance(
                args, ["verify", "run", "--json", "--seed", str(args.seed)])))
            ran.append("records")
        for name, module, run, write in _REPORT_STUDIES:
            if getattr(inputs, name) is None:
                study = importlib.import_module(module)
                result = getattr(study, run)(quick=args.quick, seed=args.seed, progress=progress)
                command = ["verify", name, *(["--quick"] if args.quick else []), "--seed", str(args.seed), "-o",
                           str(out / name)]
                result["provenance"] = _provenance(args, command)
                getattr(study, write)(result, _output_directory(out / name))
                ran.append(name)
        if ran:
            inputs = html.load_inputs(dirs)
            for name in ran:
                inputs.sources[name] += " (run now" + (", quick)" if args.quick and name != "records" else ")")
        progress("report: the page and the LaTeX appendix")
        written = html.write_report(out, records=inputs.records, audit=inputs.audit, train=inputs.train,
                                    audit_figures=inputs.audit_figures, train_figures=inputs.train_figures,
                                    sources=inputs.sources, pdf=False if args.no_pdf else None)
    for p in written.paths:
        print(f"wrote {p}")
    if written.failure:
        print(f"verify: {written.failure}", file=sys.stderr)
    return 1 if written.failure else 0


COMMANDS["report"] = _cmd_report


def _formula_values_joined(argv: list) -> list:
    """``--formula -V*m`` reads as ``--formula=-V*m``: a formula may start with a minus sign, which argparse would
    take for an option."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] == "--formula" and i + 1 < len(argv):
            out.append(f"--formula={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def _provenance(args, command=None) -> dict:
    """The provenance of a record this command prints or saves (:func:`verify._provenance.provenance`): the seed
    and the command line :func:`main` parsed (or ``command``, for a record another command would reproduce)."""
    from verify._provenance import provenance

    return provenance(getattr(args, "seed", None), command if command is not None else getattr(args, "argv", None))


def main(argv=None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); returns the exit status.  Bad usage or bad
    input prints one line on stderr and returns 2; any other exception propagates with its traceback."""
    argv = _formula_values_joined(list(sys.argv[1:] if argv is None else argv))
    try:
        args = _parser().parse_args(argv)
        args.argv = ["verify", *argv]  # the command a JSON record names to reproduce itself
        with _bad_input():
            _check_common_options(args)
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"verify: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("verify: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (verify list | head): stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
