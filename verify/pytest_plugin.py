"""pytest plugin: ``pytest`` is the proof checker.

Registered through the ``pytest11`` entry point.  Any file ending in ``.verify`` (this project keeps
``tests/statements.verify``) makes pytest collect the registered statements it names (one id per line,
or ``all``).  Each statement becomes a collector with

* one item per derivation step:  ``<statement>::<derivation>::<step>``  (the step is checked by SymPy), and
  ``<statement>::<derivation>::ends-at-conclusion`` (the connected chain ends at the registered closed form);
* one item per assumption:       ``<statement>::assumption::<name>``  (the fact's own evidence check);
* one item per evidence check:   ``<statement>::evidence::<check>``  (figure against threshold);
* one item per planted mutant:   ``<statement>::mutant::<check>::<mutant>``  (the check must go red on it).

A check is prepared once per session (its points, references and samples) and its evidence item and mutant items
are scored against that one preparation.

Options: ``--verify-slow`` also runs the checks marked slow; ``--verify-seed N`` changes the master seed
(default 0); the figure of every check is printed (``-s`` shows it) and attached to the report.
"""

from __future__ import annotations

import pytest

from verify.kernel.registry import statements
from verify.kernel.runner import Preparations, run_check
from verify.kernel.statement import Statement
from verify._validation import seed_value


def pytest_addoption(parser):
    group = parser.getgroup("softmax-verify")
    group.addoption("--verify-slow", action="store_true", default=False, help="also run statements' slow checks")
    group.addoption("--verify-seed", type=_seed, default=0, help="master seed of the evidence checks (default 0)")


def _seed(text: str) -> int:
    import argparse

    try:
        return seed_value(int(text), "--verify-seed")
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"--verify-seed: expected a non-negative integer, got {text!r}") from None


def pytest_configure(config):
    config.addinivalue_line("markers", "verify_slow: a statement's heavy check, run with --verify-slow")


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".verify":
        return StatementsFile.from_parent(parent, path=file_path)
    return None


class StatementsFile(pytest.File):
    def collect(self):
        words = [w.strip() for w in self.path.read_text().splitlines()]
        ids = [w for w in words if w and not w.startswith("#")]
        for st in statements([] if ids in ([], ["all"]) else ids):
            yield StatementCollector.from_parent(self, name=st.id, statement=st)


class StatementCollector(pytest.Collector):
    def __init__(self, *, statement: Statement, **kw):
        super().__init__(**kw)
        self.statement = statement
        self.preparations = Preparations()

    def collect(self):
        for derivation in self.statement.built_derivations():
            for step in derivation.steps:
                yield StepItem.from_parent(self, name=f"{_slug(derivation.name)}::{step.label}", run=step.check,
                                           what=f"{derivation.name} / {step.label}: {step.why}")
            yield StepItem.from_parent(self, name=f"{_slug(derivation.name)}::ends-at-conclusion",
                                       run=derivation.conclude,
                                       what=f"{derivation.name}: the chain ends at the registered closed form")
        for assumption in self.statement.assumptions:
            yield CheckItem.from_parent(self, name=f"assumption::{assumption.name}", check=assumption.check)
            for i, m in enumerate(assumption.check.mutants):
                yield MutantItem.from_parent(self, name=f"assumption::{assumption.name}::mutant::{_slug(m.name)}",
                                             check=assumption.check, mutant=m.name,
                                             last=i == len(assumption.check.mutants) - 1)
        for check in self.statement.checks:
            item = CheckItem.from_parent(self, name=f"evidence::{check.name}", check=check)
            if check.slow:
                item.add_marker(pytest.mark.verify_slow)
            yield item
        for check in self.statement.checks:
            for i, m in enumerate(check.mutants):
                item = MutantItem.from_parent(self, name=f"mutant::{check.name}::{_slug(m.name)}", check=check,
                                              mutant=m.name, last=i == len(check.mutants) - 1)
                if check.slow:
                    item.add_marker(pytest.mark.verify_slow)
                yield item


class _StatementItem(pytest.Item):
    """An item of a statement: failures print the step or evidence line, not a traceback."""

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, StepFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"{self.parent.name}::{self.name}"


class StepItem(_StatementItem):
    def __init__(self, *, run, what: str, **kw):
        super().__init__(**kw)
        self.run = run
        self.what = what

    def runtest(self):
        result = self.run()
        self.user_properties.append(("detail", result.detail))
        if not result.passed:
            raise StepFailed(f"{self.what}\n  -> {result.detail}")


class CheckItem(_StatementItem):
    def __init__(self, *, check, **kw):
        super().__init__(**kw)
        self.check = check

    def setup(self):
        if self.check.slow and not self.config.getoption("--verify-slow"):
            pytest.skip("slow check (run with --verify-slow)")

    def runtest(self):
        ev = run_check(self.parent.statement, self.check, self.config.getoption("--verify-seed"),
                       preparations=self.parent.preparations)
        line = (f"[{ev.id}::{ev.name}] {ev.kind}: {ev.unit or 'figure'} = {ev.figure:.4g} "
                f"(needs {ev.relation} {ev.threshold:g}) in {ev.seconds:.2f}s; {ev.detail}")
        print(line)
        for key in ("figure", "threshold", "seconds", "detail"):
            self.user_properties.append((key, getattr(ev, key)))
        if not ev.passed:
            raise StepFailed("evidence failed: " + line)


class MutantItem(_StatementItem):
    """The check run on a planted wrong subject: passes only when the check goes red on it."""

    def __init__(self, *, check, mutant: str, last: bool = False, **kw):
        super().__init__(**kw)
        self.check = check
        self.mutant = mutant
        self.last = last

    def setup(self):
        if self.check.slow and not self.config.getoption("--verify-slow"):
            pytest.skip("slow check (run with --verify-slow)")

    def runtest(self):
        seed = self.config.getoption("--verify-seed")
        ev = run_check(self.parent.statement, self.check, seed, mutant=self.mutant, preparations=self.parent.preparations)
        if self.last:  # the check's last item: its preparation is no longer needed
            self.parent.preparations.forget(self.parent.statement, self.check, seed)
        line = (f"[{ev.id}::{ev.name} on mutant {self.mutant!r}] {ev.unit or 'figure'} = {ev.figure:.4g} "
                f"(true subject needs {ev.relation} {ev.threshold:g}); {ev.detail}")
        print(line)
        if not ev.caught:
            raise StepFailed("check stayed GREEN on its mutant: " + line)


class StepFailed(AssertionError):
    """A derivation step or an evidence check that did not hold."""


def _slug(text: str) -> str:
    """A pytest-friendly id: no parentheses, no LaTeX math markup, words joined by '-'."""
    for ch in "()$\\{}":
        text = text.replace(ch, "")
    return "-".join(text.split())
