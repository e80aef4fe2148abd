"""The pytest plugin: statements become items, and a false step or a red check becomes a failing item."""

import proofs.gaussian_limit  # noqa: F401  (imported here so pytester's in-process runs keep one SymPy)
import proofs.linear_limit  # noqa: F401
import verify.kernel.statement  # noqa: F401

pytest_plugins = ["pytester"]

CONFTEST = '''
import pytest, sympy as sp
from proofs import linear_limit as ll
from verify.kernel.statement import Check, at_most
from verify.kernel.derivation import Derivation

x = sp.Symbol("x")
BAD_STEP = Derivation("planted", (x + 1) ** 2, conclusion=x**2 + 1).step(x**2 + 1, "forgot the cross term")
RED = Check("planted-red", "float64", lambda rng: None,
            lambda prepared, subject: at_most(1.0, 0.0, "err", "planted failure"))

# planted before collection (conftest import), undone when the inner session ends
_mp = pytest.MonkeyPatch()
_mp.setattr(ll.COMPANION, "_built", ll.COMPANION.built_derivations() + (BAD_STEP,))
_mp.setattr(ll.COMPANION, "checks", list(ll.COMPANION.checks) + [RED])


def pytest_unconfigure(config):
    _mp.undo()
'''


def test_items_are_named_after_the_statement(pytester):
    pytester.makefile(".verify", statements="gaussian-limit")
    result = pytester.runpytest_inprocess("--collect-only", "-q", "-p", "no:cacheprovider")
    out = result.stdout.str()
    assert "statements.verify::gaussian-limit::Lemma-2.1,-explicit-d=2:-completing-the-square::complete-the-square" in out
    assert "statements.verify::gaussian-limit::evidence::quadrature" in out


def test_false_step_and_red_check_fail(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makefile(".verify", statements="linear-limit")
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider", "-k", "planted")
    out = result.stdout.str()
    result.assert_outcomes(failed=2, passed=1)  # the planted chain still ends at its declared conclusion
    assert "forgot the cross term" in out and "refuted at" in out
    assert "planted failure" in out
