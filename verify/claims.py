"""Statements, their evidence, and the registry.

A proof module (``proofs/<statement>.py``) builds one :class:`Statement` and exposes it as the module
attribute ``STATEMENT`` (or ``STATEMENTS``, a list); the module is listed under the entry-point group
``softmax_verify.statements`` in ``pyproject.toml``.  The engine discovers statements through that group
and never imports ``proofs`` by name.

A statement carries
  * its closed form and hypotheses in LaTeX, in the paper's order,
  * derivations (:class:`verify.derivation.Derivation`), every step machine-checked,
  * evidence checks (:class:`Check`): each computes an :class:`Outcome` (a figure against a threshold)
    independently of the closed form,
  * optionally user-facing claim specs (:class:`verify.formula.ClaimSpec`) for ``verify claim``.

>>> at_least(31.2, 30, "digits").passed, at_most(6.0, 5, "|z|").passed
(True, False)
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Callable, Iterable, Sequence

import numpy as np

from .montecarlo import stream

__all__ = [
    "Outcome",
    "at_least",
    "at_most",
    "Check",
    "Evidence",
    "Statement",
    "registry",
    "get_statement",
    "statements",
    "claim_specs",
    "run_check",
    "ENTRY_POINT_GROUP",
]

ENTRY_POINT_GROUP = "softmax_verify.statements"

KINDS = ("symbolic", "quadrature", "certified", "montecarlo", "float64", "negative-control", "audit")


@dataclass(frozen=True)
class Outcome:
    """A figure compared with a threshold: ``figure >= threshold`` or ``figure <= threshold``."""

    figure: float
    threshold: float
    relation: str  # ">=" or "<="
    unit: str = ""
    detail: str = ""

    def __post_init__(self):
        if self.relation not in (">=", "<="):
            raise ValueError(f"relation: expected '>=' or '<=', got {self.relation!r}")
        if isinstance(self.figure, float) and math.isnan(self.figure):
            raise ValueError("figure: a check produced NaN; refusing to judge it")

    @property
    def passed(self) -> bool:
        f = float(self.figure)
        return f >= self.threshold if self.relation == ">=" else f <= self.threshold


def at_least(figure: float, threshold: float, unit: str = "", detail: str = "") -> Outcome:
    """Pass when ``figure >= threshold`` (e.g. agreeing significant digits)."""
    return Outcome(float(figure), float(threshold), ">=", unit, detail)


def at_most(figure: float, threshold: float, unit: str = "", detail: str = "") -> Outcome:
    """Pass when ``figure <= threshold`` (e.g. |z| of a Monte Carlo comparison)."""
    return Outcome(float(figure), float(threshold), "<=", unit, detail)


@dataclass(frozen=True)
class Check:
    """One evidence item of a statement.

    ``run(rng)`` receives a generator derived from the master seed and the check's name, and returns an
    :class:`Outcome`.  ``kind`` is one of ``KINDS``.  ``slow`` checks run only when asked for
    (``verify run --slow``, ``pytest --run-slow``).
    """

    name: str
    kind: str
    run: Callable[[np.random.Generator], Outcome]
    description: str = ""
    slow: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind: expected one of {KINDS}, got {self.kind!r}")


@dataclass(frozen=True)
class Evidence:
    """The record of one evidence item as run: what ``verify run --json`` prints."""

    id: str
    name: str
    kind: str
    passed: bool
    figure: float
    threshold: float
    relation: str
    unit: str
    seconds: float
    detail: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("figure", "threshold"):
            if isinstance(d[k], float) and math.isinf(d[k]):
                d[k] = "inf" if d[k] > 0 else "-inf"
        return d


@dataclass
class Statement:
    """A statement of the paper (or of a result it leans on), with everything that checks it."""

    id: str
    number: str
    title: str
    summary: str
    source: str
    statement_tex: str
    hypotheses_tex: Sequence[str] = ()
    derivations: Callable[[], list] = lambda: []
    checks: Sequence[Check] = ()
    claims: Sequence = ()
    status: str = "verified"
    notes_tex: Sequence[str] = ()
    order: float = 0.0
    _built: tuple | None = field(default=None, init=False, repr=False, compare=False)

    def built_derivations(self) -> tuple:
        """The statement's derivations, built once per process (SymPy construction can take a moment)."""
        if self._built is None:
            self._built = tuple(self.derivations())
        return self._built

    def check_named(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise ValueError(f"check: {self.id} has no check named {name!r}")


def run_check(statement: Statement, check: Check, seed: int = 0) -> Evidence:
    """Run one check with its own reproducible stream and time it."""
    rng = stream(seed, statement.id, check.name)
    t0 = time.perf_counter()
    try:
        out = check.run(rng)
    except (ValueError, TypeError, ArithmeticError, np.linalg.LinAlgError) as exc:
        # A check that cannot compute its figure has failed; say why instead of hiding it.
        out = Outcome(math.inf, 0.0, "<=", "", f"error: {type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - t0
    return Evidence(
        id=statement.id,
        name=check.name,
        kind=check.kind,
        passed=out.passed,
        figure=out.figure,
        threshold=out.threshold,
        relation=out.relation,
        unit=out.unit,
        seconds=seconds,
        detail=out.detail,
    )


_REGISTRY: dict[str, Statement] | None = None


def _discover() -> dict[str, Statement]:
    found: dict[str, Statement] = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        module = ep.load()
        items = getattr(module, "STATEMENTS", None) or [getattr(module, "STATEMENT")]
        for st in items:
            if st.id in found:
                raise ValueError(f"statement id {st.id!r} registered twice")
            found[st.id] = st
    return dict(sorted(found.items(), key=lambda kv: (kv[1].order, kv[0])))


def registry() -> dict[str, Statement]:
    """All registered statements, by id, in the paper's order."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = _discover()
    return _REGISTRY


def statements(ids: Iterable[str] | None = None) -> list[Statement]:
    """The statements named by ``ids`` (all when empty), or ``ValueError`` naming the unknown one."""
    reg = registry()
    ids = list(ids or [])
    if not ids:
        return list(reg.values())
    return [get_statement(i) for i in ids]


def claim_specs() -> dict:
    """Every user-checkable claim (``verify claim``), by id."""
    return {c.id: c for st in registry().values() for c in st.claims}


def get_statement(statement_id: str) -> Statement:
    reg = registry()
    if not isinstance(statement_id, str):
        raise TypeError(f"statement id: expected a string, got {type(statement_id).__name__}")
    if statement_id not in reg:
        raise ValueError(f"statement id: unknown {statement_id!r}; known: {', '.join(reg)}")
    return reg[statement_id]
