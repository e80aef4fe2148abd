"""Statements and their evidence: what a proof module declares.

A proof module (``proofs/<statement_id>.py``) builds one :class:`Statement` and exposes it as the module
attribute ``STATEMENT`` (or ``STATEMENTS``, a list); :mod:`verify.kernel.registry` discovers it.

A statement carries
  * its closed form and hypotheses in LaTeX, in the paper's order,
  * derivations (:class:`verify.kernel.derivation.Derivation`), every step machine-checked,
  * evidence checks (:class:`Check`): each computes an :class:`Outcome` (a figure against a threshold)
    independently of the closed form,
  * optionally user-facing claim specs (:class:`verify.kernel.claim.ClaimSpec`) for ``verify claim``.

A check is split in two: ``prepare(rng)`` computes everything that does not depend on the statement under test
(the points, the quadrature of the definition, the Monte Carlo sample, the reference trajectory), once;
``score(prepared, subject)`` compares any number of subjects -- the closed form or its planted mutants -- with
it.  A hundred mutants cost one preparation.

>>> at_least(31.2, 30, "digits").passed, at_most(6.0, 5, "|z|").passed
(True, False)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from verify.kernel.verdict import Finding

__all__ = [
    "Outcome",
    "at_least",
    "at_most",
    "Check",
    "Mutant",
    "register_kind",
    "kinds",
    "Evidence",
    "Statement",
]

_KINDS: dict[str, str] = {}


def register_kind(name: str, description: str) -> None:
    """Open the registry of evidence kinds to a new kind (one engine constructor per kind, see
    :mod:`verify.kernel.evidence`).  Registering a known name again with the same description is a no-op."""
    if not isinstance(name, str) or not name or name != name.strip():
        raise ValueError(f"name: expected a non-empty kind name, got {name!r}")
    if name in _KINDS and _KINDS[name] != description:
        raise ValueError(f"name: kind {name!r} is already registered as {_KINDS[name]!r}")
    _KINDS[name] = description


def kinds() -> dict[str, str]:
    """The registered evidence kinds and what each one means."""
    return dict(_KINDS)


for _name, _doc in (
    ("symbolic", "a derivation: every step checked by SymPy"),
    ("quadrature", "agreement with high-precision quadrature of the definition"),
    ("float64", "agreement or bound in double precision against an independent computation"),
    ("certified", "Arb enclosures of the definition contain the subject and are narrow"),
    ("montecarlo", "z-test or rate of finite-L Monte Carlo estimates of the definition"),
    ("negative-control", "a wrong form is rejected by the same machinery"),
    ("rate", "a fitted exponent in L with its confidence interval"),
    ("audit", "a measurement of the paper's hypotheses or constants"),
    ("trajectory", "an error-controlled trajectory (DOP853 with stated rtol/atol, or gradient descent with step eta): "
                   "a figure along it against a threshold"),
):
    register_kind(_name, _doc)


@dataclass(frozen=True)
class Outcome:
    """A figure compared with a threshold: ``figure >= threshold`` or ``figure <= threshold``."""

    figure: float
    threshold: float
    relation: str  # ">=" or "<="
    unit: str = ""
    detail: str = ""
    false_alarm: float | None = None
    """For a statistical check: the probability that a true statement fails this comparison (from the distribution
    the statistic really has, e.g. Student-t for batch means); None for a deterministic check."""

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
class Mutant:
    """A planted wrong subject (closed form or quantity) that a check must reject.

    >>> wrong = Mutant("missing V m", lambda p: p["V"] * p["Gamma"] * p["z"], note="the linear-attention form at m = 0")
    >>> wrong.name, wrong.subject({"V": 2.0, "Gamma": 3.0, "z": 1.0})
    ('missing V m', 6.0)
    """

    name: str
    subject: Any
    note: str = ""

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"name: a mutant needs a name, got {self.name!r}")


@dataclass(frozen=True)
class Check:
    """One evidence item of a statement, built by a constructor of :mod:`verify.kernel.evidence`.

    ``prepare(rng)`` receives a generator derived from the master seed and the check's name and returns what does
    not depend on the subject (points, references, samples, trajectories); ``score(prepared, subject)`` returns the
    :class:`Outcome` of one subject -- the true ``subject`` or a mutant's -- against it, drawing no randomness.
    ``kind`` is a registered kind (:func:`kinds`).  ``mutants`` are the wrong subjects the check must reject.
    ``slow`` checks run only when asked for (``verify run --slow``, ``pytest --verify-slow``).
    """

    name: str
    kind: str
    prepare: Callable[[np.random.Generator], Any]
    score: Callable[[Any, Any], Outcome]
    description: str = ""
    slow: bool = False
    subject: Any = None
    mutants: tuple = ()
    budget: float = 120.0
    """Seconds the preparation, and then each scoring, may take: past it the check fails ("exceeded its time
    budget") instead of hanging (enforced in the main thread of a run)."""
    adapter: Callable[[Any], Any] | None = None
    """For a check whose subject is the statement's closed form: the function turning a closed form (SymPy) into
    this check's subject.  Machine-generated mutants of the closed form are scored on such checks, and a declared
    :class:`Mutant` whose subject is a SymPy expression goes through it."""

    def __post_init__(self):
        if self.kind not in _KINDS:
            raise ValueError(f"kind: expected one of {tuple(_KINDS)}, got {self.kind!r}")
        if not callable(self.prepare) or not callable(self.score):
            raise TypeError("prepare, score: a check needs two callables")
        if isinstance(self.budget, bool) or not isinstance(self.budget, (int, float)) or not self.budget > 0:
            raise ValueError(f"budget: expected a positive number of seconds, got {self.budget!r}")
        object.__setattr__(self, "mutants", tuple(self.mutants))
        for m in self.mutants:
            if not isinstance(m, Mutant):
                raise TypeError(f"mutants: expected Mutant objects, got {type(m).__name__}")
        names = [m.name for m in self.mutants]
        if len(set(names)) != len(names):
            raise ValueError(f"mutants: duplicate names in {names}")

    def mutant_named(self, name: str) -> Mutant:
        for m in self.mutants:
            if m.name == name:
                return m
        raise ValueError(f"mutant: check {self.name!r} has no mutant {name!r}; known: {[m.name for m in self.mutants]}")

    def subject_of(self, mutant: str | None = None) -> Any:
        """The true subject, or the subject of the mutant named ``mutant`` (a SymPy mutant through the adapter)."""
        if mutant is None:
            return self.subject
        return self.adapt(self.mutant_named(mutant).subject)

    def adapt(self, subject: Any) -> Any:
        """``subject`` as this check scores it: a SymPy expression goes through :attr:`adapter`."""
        import sympy as sp

        if self.adapter is not None and isinstance(subject, sp.Basic):
            return self.adapter(subject)
        return subject

    def outcome(self, rng: np.random.Generator, mutant: str | None = None) -> Outcome:
        """Prepare and score in one go, on the true subject or on the mutant named ``mutant``."""
        return self.score(self.prepare(rng), self.subject_of(mutant))


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
    mutant: str = ""
    """Empty for a run on the true subject; otherwise the planted mutant (then ``passed`` means *not caught*)."""
    false_alarm: float | None = None
    """See :attr:`Outcome.false_alarm`."""

    @property
    def caught(self) -> bool:
        """For a mutant run: the check went red on the mutant, as it must."""
        return bool(self.mutant) and not self.passed

    def to_dict(self) -> dict:
        d = asdict(self)
        if not self.mutant:
            del d["mutant"]
        else:
            d["caught"] = self.caught
        if self.false_alarm is None:
            del d["false_alarm"]
        for k in ("figure", "threshold"):
            if isinstance(d[k], float) and math.isinf(d[k]):
                d[k] = "inf" if d[k] > 0 else "-inf"
        return d


@dataclass
class Statement:
    """A statement of the paper (or of a result it leans on), with everything that checks it.

    >>> st = Statement(id="example", number="Example", title="A statement with no evidence yet", summary="x = x",
    ...                source="the documentation", statement_tex="x = x")
    >>> st.status, st.checks, st.built_derivations()
    ('verified', (), ())
    """

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
    finding: Finding = field(default_factory=Finding)
    closed_form: Any = None
    """The statement's closed form as a SymPy expression (the conclusion of its derivations): the source of the
    machine-generated mutants (``verify selftest --mutate``), scored on the checks that declare an ``adapter``."""
    domains: Mapping[str, str] = field(default_factory=dict)
    """Each symbol of :attr:`closed_form` (by its SymPy name) with its kind (:data:`verify.kernel.decide.DOMAINS`):
    what the exact decision needs to tell an equivalent mutant from a wrong one."""
    formula_names: Mapping[str, str] = field(default_factory=dict)
    """SymPy symbol names that differ in the claim grammar (e.g. ``{"U_11": "U11"}``)."""
    """What the evidence is built to establish (:class:`verify.kernel.verdict.Finding`); a run's verdict is computed
    from it and the records (:func:`verify.kernel.verdict.verdict`)."""
    notes_tex: Sequence[str] = ()
    order: float = 0.0
    _built: tuple | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def status(self) -> str:
        """The declared outcome's kind (e.g. "verified", "falsified as written")."""
        return self.finding.kind

    def built_derivations(self) -> tuple:
        """The statement's derivations, built once per process (SymPy construction can take a moment)."""
        if self._built is None:
            self._built = tuple(self.derivations())
        return self._built

    @property
    def assumptions(self) -> tuple:
        """The named assumptions the derivations use (each carries its own check), in order of first use."""
        seen: dict = {}
        for d in self.built_derivations():
            for a in getattr(d, "assumptions", ()):
                seen.setdefault(a.name, a)
        return tuple(seen.values())

    def check_named(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise ValueError(f"check: {self.id} has no check named {name!r}")
