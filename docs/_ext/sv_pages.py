"""The pages generated from the registry at build time: one page per statement, the statement index with the
dependency graph, the findings, the API reference and the tutorial notebook.

Nothing here is written twice: statement, hypotheses, derivations, checks, mutants and findings come from the
registered :class:`verify.kernel.statement.Statement` objects; the derivations are rendered by
:func:`verify.reports.latex.derivation_tex` (the appendix's renderer) and only transcribed to HTML + MathML here;
the evidence and the mutant records are produced by running every statement at the configured seed
(:func:`verify.kernel.runner.run_statements`, :func:`verify.kernel.runner.run_mutants` on the same preparations),
cached under the build's doctree directory by a hash of the package and proof sources.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import math
import os
import re
import time
from pathlib import Path

from sphinx.util import logging

import sv_graph
from statement_uses import USES
from sv_mathml import mathml

logger = logging.getLogger(__name__)

GENERATED = ("statements", "findings.md", "tutorial.ipynb", "reference/api.md", "reference/cli.md",
             "reference/modules")
"""What the build writes into the source directory (ignored by git)."""

VERDICT_ORDER = ("falsified as written", "contradicts the paper", "sharpened", "verified under hypotheses",
                 "verified", "not established")

# ---------------------------------------------------------------------------------------------------------------
# text and math


def _group(s: str, i: int) -> tuple[str, int]:
    """The content of the brace group opening at ``s[i]`` and the index after its closing brace."""
    if s[i] != "{":
        raise ValueError(f"expected '{{' at {i} in {s[max(0, i - 20):i + 20]!r}")
    depth, j = 0, i
    while j < len(s):
        c = s[j]
        if c == "\\":
            j += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return s[i + 1:j], j + 1
        j += 1
    raise ValueError(f"unbalanced braces in {s[i:i + 60]!r}")


def _math_segments(text: str) -> list[tuple[bool, str]]:
    """``text`` split at unescaped ``$``: (is_math, piece) pairs."""
    out, buf, in_math, i = [], [], False, 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            buf.append(text[i:i + 2])
            i += 2
            continue
        if c == "$":
            out.append((in_math, "".join(buf)))
            buf, in_math = [], not in_math
        else:
            buf.append(c)
        i += 1
    if in_math:
        raise ValueError(f"unbalanced $ in {text!r}")
    out.append((False, "".join(buf)))
    return [(m, p) for m, p in out if p]


def inline_html(text: str) -> str:
    """Plain text with ``$...$`` math (check names, titles): HTML with MathML."""
    return "".join(mathml(p) if m else html.escape(p) for m, p in _math_segments(str(text)))


_LATEX_TEXT = (
    (r"\textless{}", "&lt;"), (r"\textgreater{}", "&gt;"), (r"\textbar{}", "|"), (r"\textasciitilde{}", "~"),
    (r"\textasciicircum{}", "^"), (r"\textbackslash{}", "\\"), (r"\%", "%"), (r"\_", "_"), (r"\&amp;", "&amp;"),
    (r"\#", "#"), (r"\{", "{"), (r"\}", "}"), (r"\$", "$"), ("---", "\u2014"), ("--", "\u2013"),
    ("``", "\u201c"), ("''", "\u201d"), (r"\ ", " "),
)
_LATEX_WRAPPERS = {"texttt": "code", "emph": "em", "textit": "em", "textbf": "strong"}


def latex_text_html(tex: str) -> str:
    """LaTeX text (``$...$`` math, escaped specials, ``\\texttt``/``\\emph``): HTML with MathML."""
    parts = []
    for is_math, piece in _math_segments(str(tex)):
        if is_math:
            parts.append(mathml(piece))
            continue
        s = html.escape(piece, quote=False).replace("~", "\u00a0")  # a bare ~ is a tie; ~ itself is escaped
        for name, tag in _LATEX_WRAPPERS.items():
            while f"\\{name}{{" in s:
                i = s.index(f"\\{name}{{")
                inner, end = _group(s, i + len(name) + 1)
                s = s[:i] + f"<{tag}>{inner}</{tag}>" + s[end:]
        while "\\url{" in s:
            i = s.index("\\url{")
            target, end = _group(s, i + len("\\url"))
            href = target if "://" in target else "https://" + target
            s = s[:i] + f'<a href="{href}">{target}</a>' + s[end:]
        for a, b in _LATEX_TEXT:
            s = s.replace(a, b)
        left = re.findall(r"\\[A-Za-z]+", s)
        if left:
            raise ValueError(f"LaTeX text command(s) {left} not rendered in {tex!r}")
        parts.append(s)
    return "".join(parts)


def md_text(text: str) -> str:
    """Plain text (with ``$...$`` math) for a Markdown line: brackets, emphasis and HTML characters escaped outside
    the math, so that ``T[N(m, Γ)](z)`` stays text and is not read as a link."""
    out = []
    for is_math, piece in _math_segments(str(text)):
        if is_math:
            out.append(f"${piece}$")
        else:
            out.append(re.sub(r"([\\`*_\[\]<>|#])", r"\\\1", piece))
    return "".join(out)


def plain(text: str) -> str:
    r"""A short label without markup: ``Sec. 5 (R_$\infty$)`` -> ``Sec. 5 (R∞)``."""
    t = str(text).replace("$", "")
    for a, b in ((r"\mathcal R_\infty", "R∞"), ("R_∞", "R∞"), (r"\infty", "∞"), (r"\alpha", "α"), (r"\Gamma", "Γ"),
                 (r"\Sigma", "Σ"), (r"\to", "→"), (r"\mathcal ", ""), (r"\,", " ")):
        t = t.replace(a, b)
    return re.sub(r"\\[A-Za-z]+|[{}]", "", t)


def math_display(tex: str) -> str:
    """A displayed statement broken into rows as the appendix breaks it (:func:`verify.reports.latex.display_tex`),
    one MathML display per row."""
    from verify.reports.latex import display_tex

    rows, body, pos = [], display_tex(tex), 0
    while (i := body.find(r"\svfit{", pos)) >= 0:
        _, k = _group(body, i + len(r"\svfit"))
        row, pos = _group(body, k)
        rows.append(mathml(row, display=True))
    if not rows:
        raise ValueError(f"no display rows in {tex!r}")
    return "\n".join(rows)


def math_or_text(tex: str) -> str:
    """A hypothesis or an assumption: LaTeX text with ``$...$`` math, or pure math split where a paragraph may
    break it (:func:`verify.reports.texwidth.inline_pieces`, as the appendix does)."""
    from verify.reports.texwidth import inline_pieces

    return latex_text_html(tex if "$" in tex else inline_pieces(tex))


# ---------------------------------------------------------------------------------------------------------------
# derivations: the appendix's LaTeX (verify.reports.latex.derivation_tex) transcribed to an HTML table of MathML


def _rows(body: str) -> list[dict]:
    rows, pos = [], 0
    while pos < len(body):
        while pos < len(body) and body[pos].isspace():
            pos += 1
        if pos >= len(body):
            break
        if body.startswith(r"\svwhy{", pos):
            why, pos = _group(body, pos + len(r"\svwhy"))
            rows[-1]["why"] = why
            continue
        depth, j, end = 0, pos, len(body)
        while j < len(body):  # the row runs to the next top-level \\
            c = body[j]
            if c == "\\" and body.startswith("\\\\", j) and depth == 0:
                end = j
                break
            if c == "\\":
                j += 2
                continue
            depth += c == "{"
            depth -= c == "}"
            j += 1
        row, pos = body[pos:end], min(end + 2, len(body))
        left, _, rest = row.partition("&")
        rest = rest.strip()
        indent = 0.0
        m = re.match(r"\\hspace\{([\d.]+)em\}", rest)
        if m:
            indent, rest = float(m.group(1)), rest[m.end():]
        if not rest.startswith(r"\svfit{"):
            raise ValueError(f"unexpected derivation row {row!r}")
        _, k = _group(rest, len(r"\svfit"))
        right, _ = _group(rest, k)
        rows.append({"left": left.strip(), "right": right, "indent": indent, "why": ""})
    return rows


def derivation_html(derivation) -> str:
    """One derivation as the appendix renders it: rows of (left side, relation and right side), each step's
    justification under it."""
    from verify.reports.latex import derivation_tex

    tex = derivation_tex(derivation)
    out = []
    for m in re.finditer(r"\\begin\{align\*\}(.*?)\\end\{align\*\}\n?", tex, re.S):
        rows = _rows(m.group(1))
        after = tex[m.end():]
        if after.startswith(r"\svwhyafter{"):
            rows[-1]["why"] = _group(after, len(r"\svwhyafter"))[0]
        cells = []
        for r in rows:
            left = mathml(r"\displaystyle " + r["left"]) if r["left"] else ""
            pad = f' style="padding-left:{r["indent"]:g}em"' if r["indent"] else ""
            cells.append(f'<tr><td class="sv-lhs">{left}</td><td class="sv-rhs"{pad}>'
                         f'{mathml(chr(92) + "displaystyle " + r["right"])}</td></tr>')
            if r["why"]:
                cells.append(f'<tr class="sv-why"><td></td><td>\u25b7 {latex_text_html(r["why"])}</td></tr>')
        out.append('<table class="sv-derivation">\n' + "\n".join(cells) + "\n</table>")
    if not out:
        raise ValueError(f"derivation {derivation.name!r}: no align* block in its LaTeX")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------------------
# evidence: run once per source state, cached


def _source_hash(root: Path, seed: int) -> str:
    h = hashlib.sha256(f"seed={seed}".encode())
    for sub in ("verify", "proofs"):
        for p in sorted((root / sub).rglob("*.py")):
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    if (root / CAMPAIGN_RECORD).exists():
        h.update((root / CAMPAIGN_RECORD).read_bytes())
    return h.hexdigest()[:20]


def _decode(d: dict):
    from verify.kernel.statement import Evidence

    d = dict(d)
    d.pop("caught", None)
    for k in ("figure", "threshold"):
        if isinstance(d[k], str):
            d[k] = float(d[k])
    return Evidence(**d)


def _campaign_of(sid: str, seed: int) -> dict:
    from verify.kernel.mutate import mutation_campaign
    from verify.kernel.registry import get_statement

    return mutation_campaign(get_statement(sid), seed=seed)


def _campaigns(ids: list, seed: int) -> dict:
    """The generated-mutant campaign of each statement in ``ids``, one statement per process (a campaign is
    deterministic for its seed, so the pages do not depend on the number of processes)."""
    from concurrent.futures import ProcessPoolExecutor

    workers = max(1, min(len(ids), os.cpu_count() or 1))
    if workers == 1:
        return {sid: _campaign_of(sid, seed) for sid in ids}
    with ProcessPoolExecutor(workers) as pool:
        futures = {sid: pool.submit(_campaign_of, sid, seed) for sid in ids}
        return {sid: futures[sid].result() for sid in ids}


CAMPAIGN_RECORD = Path("docs") / "_data" / "mutate.json.gz"
"""The generated-mutant campaigns the pages show: the output of ``verify selftest --mutate --json`` (gzipped).
Scoring every generated mutant of every statement takes about 20 minutes of CPU, too long for each build; the
record is regenerated with ``verify selftest --mutate --json | gzip > docs/_data/mutate.json.gz`` (or by building
with ``SV_DOCS_CAMPAIGNS=run``), and a build refuses a record whose closed forms are not today's."""


def recorded_campaigns(root: Path, sts: list) -> dict:
    """The campaigns by statement id: computed now when ``SV_DOCS_CAMPAIGNS=run``, else read from
    :data:`CAMPAIGN_RECORD` after checking that each statement's closed form is the one the record mutated; a
    campaign read from the record carries the record's provenance under ``"record"``."""
    from verify.kernel.mutate import to_formula

    ids = [st.id for st in sts if st.closed_form is not None]
    if os.environ.get("SV_DOCS_CAMPAIGNS") == "run":
        return _campaigns(ids, 0)
    path = root / CAMPAIGN_RECORD
    if not path.exists():
        raise ValueError(f"{CAMPAIGN_RECORD} is missing: regenerate it with "
                         f"verify selftest --mutate --json | gzip > {CAMPAIGN_RECORD}")
    with gzip.open(path, "rt") as f:
        doc = json.load(f)
    found = {c["id"]: c for c in doc["campaigns"]}
    stale = [st.id for st in sts if st.closed_form is not None and (
        st.id not in found or found[st.id].get("closed_form") != to_formula(st.closed_form, dict(st.formula_names)))]
    if stale:
        raise ValueError(f"{CAMPAIGN_RECORD} was computed for other closed forms of {stale}: regenerate it with "
                         f"verify selftest --mutate --json | gzip > {CAMPAIGN_RECORD}")
    return {i: {**found[i], "record": doc.get("provenance")} for i in ids}


def evidence(root: Path, cache_dir: Path, sts: list, seed: int) -> dict:
    """``{"records", "mutants", "campaigns", "seconds"}`` for ``sts`` at ``seed`` (from the cache when the
    package and proof sources are unchanged)."""
    from verify.kernel.runner import Preparations, run_mutants, run_statements

    cache = cache_dir / f"sv-evidence-{_source_hash(root, seed)}.json"
    if cache.exists():
        data = json.loads(cache.read_text())
        logger.info(f"[softmax-verify] evidence read from the cache ({len(data['records'])} records)")
    else:
        t0 = time.perf_counter()
        store = Preparations()
        records = run_statements(sts, seed=seed, preparations=store)
        t1 = time.perf_counter()
        mutants = run_mutants(sts, seed=seed, preparations=store)
        t2 = time.perf_counter()
        campaigns = recorded_campaigns(root, sts)
        t3 = time.perf_counter()
        data = {"records": [r.to_dict() for r in records], "mutants": [r.to_dict() for r in mutants],
                "campaigns": campaigns, "seconds": {"run": t1 - t0, "mutants": t2 - t1, "campaigns": t3 - t2}}
        logger.info(f"[softmax-verify] ran {len(records)} records in {t1 - t0:.1f} s, {len(mutants)} mutants in "
                    f"{t2 - t1:.1f} s, {len(campaigns)} generated-mutant campaign(s) in {t3 - t2:.1f} s")
        cache_dir.mkdir(parents=True, exist_ok=True)
        for old in cache_dir.glob("sv-evidence-*.json"):
            old.unlink()
        cache.write_text(json.dumps(data))
    data["records"] = [_decode(d) for d in data["records"]]
    data["mutants"] = [_decode(d) for d in data["mutants"]]
    return data


# ---------------------------------------------------------------------------------------------------------------
# pages


def _figure(value: float, unit: str) -> str:
    from verify.reports.table import format_figure

    return html.escape(f"{format_figure(value, unit)} {unit}".strip())


def _threshold(ev) -> str:
    rel = "\u2265" if ev.relation == ">=" else "\u2264"
    from verify.reports.table import format_figure

    return f"{rel} {html.escape(format_figure(ev.threshold, ev.unit))}"


def _verdict_badge(kind: str) -> str:
    slug = kind.replace(" ", "-")
    return f'<span class="sv-verdict sv-{slug}">{html.escape(kind)}</span>'


def _raw(fragment: str) -> str:
    return "```{raw} html\n" + fragment.strip() + "\n```\n"


def _title(st) -> str:
    return f"{st.number}: {st.title}"


def _evidence_table(st, records: list) -> str:
    descriptions = {c.name: c.description for c in st.checks}
    for a in st.assumptions:
        descriptions[a.check.name] = a.check.description
    rows = []
    for ev in records:
        result = "pass" if ev.passed else "FAIL"
        rows.append(f'<tr><td>{inline_html(ev.name)}</td><td>{html.escape(ev.kind)}</td>'
                    f'<td class="sv-num">{_figure(ev.figure, ev.unit)}</td><td class="sv-num">{_threshold(ev)}</td>'
                    f'<td class="sv-{result.lower()}">{result}</td><td class="sv-num">{ev.seconds:.2f}</td></tr>')
        what = "; ".join(x for x in (descriptions.get(ev.name, ""), ev.detail) if x)
        if what:
            rows.append(f'<tr class="sv-detail"><td colspan="6">{html.escape(what)}</td></tr>')
    return ('<table class="sv-evidence"><thead><tr><th>check</th><th>kind</th><th>figure</th><th>threshold</th>'
            '<th>result</th><th>seconds</th></tr></thead><tbody>\n' + "\n".join(rows) + "\n</tbody></table>")


def _mutant_table(st, mutants: list) -> str:
    notes = {}
    for c in [a.check for a in st.assumptions] + list(st.checks):
        for m in c.mutants:
            notes[(c.name, m.name)] = m.note
    rows = []
    span = {}
    for ev in mutants:
        span[ev.name] = span.get(ev.name, 0) + 1
    shown = set()
    for ev in mutants:
        refused = "refused" if ev.caught else "NOT refused"
        note = notes.get((ev.name, ev.mutant), "")
        check = "" if ev.name in shown else f'<td rowspan="{span[ev.name]}">{inline_html(ev.name)}</td>'
        shown.add(ev.name)
        rows.append(f'<tr>{check}<td>{inline_html(ev.mutant)}'
                    + (f'<div class="sv-note">{html.escape(note)}</div>' if note else "")
                    + f'</td><td class="sv-num">{_figure(ev.figure, ev.unit)}</td>'
                    f'<td class="sv-num">{_threshold(ev)}</td>'
                    f'<td class="sv-{"pass" if ev.caught else "fail"}">{refused}</td></tr>')
    return ('<table class="sv-mutants"><thead><tr><th>check</th><th>planted wrong statement</th>'
            '<th>figure reached</th><th>the true statement needs</th><th>result</th></tr></thead><tbody>\n'
            + "\n".join(rows) + "\n</tbody></table>")


def _campaign(c: dict) -> str:
    if c.get("note") and not c.get("generated"):
        return ""
    survived = [m for m in c["mutants"] if m["status"] == "survived"]
    others = c["killed"] + c["survived"]
    text = (f"The closed form was also mutated by machine: {c['generated']} mutants (terms dropped or negated, "
            f"constants halved or doubled, symbols transposed, inverted or squared, factors swapped, ...). "
            f"{c['equivalent']} {'was' if c['equivalent'] == 1 else 'were'} proved equivalent to the closed form by "
            f"the exact decision and set aside.  Of the other {others}, {c['killed']} "
            f"{'was' if c['killed'] == 1 else 'were'} refused by at least one check "
            f"({', '.join(c['checks'])}) and {c['survived']} survived.")
    record = c.get("record")
    if record:
        commit = f" at commit {record['git_commit'][:12]}" if record.get("git_commit") else ""
        text += (f"  (Scored by `{record.get('command', '')}`, softmax-verify "
                 f"{record.get('version', '?')}{commit}, seed {record.get('seed')}.)")
    rows = "\n".join(f'<tr><td><code>{html.escape(m["formula"] or m["mutant"])}</code></td>'
                     f'<td>{html.escape(m["mutant"])}</td><td>{html.escape(m["status"])}</td>'
                     f'<td>{html.escape(", ".join(m["red"]) or "-")}</td></tr>' for m in c["mutants"])
    table = ('<details class="sv-campaign"><summary>every generated mutant</summary>'
             '<table class="sv-mutants"><thead><tr><th>mutant</th><th>how it was made</th><th>status</th>'
             '<th>refused by</th></tr></thead><tbody>\n' + rows + "\n</tbody></table></details>")
    return text + ("" if not survived else " A surviving mutant is a gap in the checks.") + "\n\n" + _raw(table)


def statement_page(st, records: list, mutants: list, campaign: dict | None, reg: dict, used_by: dict) -> str:
    from verify.kernel.verdict import VERDICTS, verdict

    v = verdict(st.finding, records)
    lines = [f"({st.id})=", f"# {md_text(_title(st))}", ""]
    box = [f'<div class="sv-verdict-box sv-{v.kind.replace(" ", "-")}">',
           f'<p><strong>Verdict:</strong> {_verdict_badge(v.kind)} <span class="sv-gloss">'
           f'{html.escape(VERDICTS[v.kind])}</span></p>']
    if v.summary:
        box.append(f"<p>{html.escape(v.summary)}</p>")
    if v.form:
        box.append(f'<p class="sv-form">{html.escape(v.form)}</p>')
    if v.failed:
        box.append(f"<p>Failed in this build: {html.escape(', '.join(v.failed))}</p>")
    box.append(f'<p class="sv-counts">{v.passed} of {v.total} derivations and checks passed at seed 0.</p></div>')
    lines.append(_raw("\n".join(box)))
    lines += [f"**Source:** {md_text(st.source)}.  **Id:** `{st.id}` (`verify run {st.id}`).", ""]
    uses = USES.get(st.id, ())
    if uses:
        lines += ["**Uses:** " + ", ".join(f"[{md_text(plain(reg[u].number))}]({u}.md)" for u in uses) + ".", ""]
    if used_by.get(st.id):
        lines += ["**Used by:** " + ", ".join(f"[{md_text(plain(reg[u].number))}]({u}.md)" for u in used_by[st.id])
                  + ".", ""]
    lines += ["## Statement", "", _raw(f'<div class="sv-display">{math_display(st.statement_tex)}</div>')]
    if st.hypotheses_tex:
        items = "\n".join(f"<li>{math_or_text(h)}</li>" for h in st.hypotheses_tex)
        lines += ["## Hypotheses", "", _raw(f'<ul class="sv-hypotheses">\n{items}\n</ul>')]
    if st.assumptions:
        items = "\n".join(f"<li><em>{inline_html(a.name)}</em>: {math_or_text(a.statement_tex)}</li>"
                          for a in st.assumptions)
        lines += ["## Assumptions used", "",
                  "Facts the derivations use without proof; each has its own evidence check (in the table below).",
                  "", _raw(f"<ul>\n{items}\n</ul>")]
    derivs = st.built_derivations()
    if derivs:
        lines += ["## Derivation", "",
                  "Every line is checked by SymPy (`verify run` and `pytest` check it again); its justification "
                  "follows it.", ""]
        for k, d in enumerate(derivs):
            body = (f"<p>The same chain with explicit entries; all {len(d.steps)} steps checked by SymPy.</p>"
                    if d.brief else derivation_html(d))
            lines.append(_raw(f'<details class="sv-deriv"{" open" if k == 0 else ""}><summary>'
                              f"{inline_html(d.name)}</summary>\n{body}\n</details>"))
    lines += ["## Evidence", "",
              "Every check run at seed 0 when this page was built: the figure it measured, the threshold it must "
              "meet, and what it compared.", "", _raw(_evidence_table(st, records))]
    if mutants or campaign:
        lines += ["## Wrong statements refused", "",
                  "Each check declares the wrong statements (mutants) it must refuse; each was scored on the same "
                  "preparation as the true statement and must go red.", ""]
        if mutants:
            lines.append(_raw(_mutant_table(st, mutants)))
        if campaign:
            lines.append(_campaign(campaign))
    if st.claims:
        lines += ["## Check your own formula", ""]
        for spec in st.claims:
            assume = ", ".join(f"`{a}`" for a in spec.assumptions)
            lines += [f"- `verify claim {spec.id} --formula \"{spec.example}\"`: {md_text(spec.summary)}"
                      + (f" (hypotheses for `--assume`: {assume})" if assume else "")]
        lines += ["", "See [Check your own formula](../howto/check-a-formula.md).", ""]
    if st.notes_tex:
        items = "\n".join(f"<li>{latex_text_html(n)}</li>" for n in st.notes_tex)
        lines += ["## Notes", "", _raw(f"<ul>\n{items}\n</ul>")]
    return "\n".join(lines) + "\n"


def _graph_nodes(reg: dict, verdicts: dict) -> list[dict]:
    return [{"id": i, "label": plain(st.number), "title": plain(_title(st)), "verdict": verdicts[i]}
            for i, st in reg.items()]


def index_page(reg: dict, verdicts: dict) -> str:
    rows = "\n".join(f"| [{md_text(plain(st.number))}]({i}.md) | {md_text(st.title)} | `{i}` | {verdicts[i]} |"
                     for i, st in reg.items())
    graph = sv_graph.svg(_graph_nodes(reg, verdicts), USES)
    toc = "\n".join(reg)
    return f"""---
hide-toc: true
---

# The paper, statement by statement

Each page below is generated from the registered statement: the statement and its hypotheses, the derivation
(every step machine-checked), the evidence with its figures and thresholds, the verdict, and the wrong statements
each check refuses.  The graph shows which statement uses which (an arrow from the used statement to its user),
coloured by verdict; click a box to open its page.

{_raw('<div class="sv-graph-wrap sv-wide">' + graph + '</div>')}
| paper | statement | id | verdict |
|---|---|---|---|
{rows}

```{{toctree}}
:maxdepth: 1
:hidden:

{toc}
```
"""


def findings_page(reg: dict, verdicts: dict, vs: dict) -> str:
    from verify.kernel.verdict import VERDICTS

    lines = ["# Findings", "",
             "What the checks found about *Softmax as Linear Attention in the Large-Prompt Regime* (Boursier & "
             "Boyer, arXiv 2512.11784) and the results it leans on, by verdict: problems with the paper as printed "
             "first.  Each finding links to its statement page, where the evidence is.", ""]
    for kind in VERDICT_ORDER:
        ids = [i for i in reg if verdicts[i] == kind]
        if not ids:
            continue
        lines += [f"## {kind.capitalize()}", "", f"*{VERDICTS[kind]}*", ""]
        for i in ids:
            st, v = reg[i], vs[i]
            text = md_text(v.summary.rstrip(".") + "." if v.summary else st.summary)
            label = {"falsified as written": "Witness", "verified under hypotheses": "Hypothesis",
                     "sharpened": "Sharper form", "contradicts the paper": "Evidence"}.get(kind, "Form")
            form = f" **{label}:** {md_text(v.form.rstrip('.'))}." if v.form else ""
            lines += [f"- **[{md_text(plain(st.number))}](statements/{i}.md)** ({md_text(st.title)}): {text}{form}",
                      ""]
    return "\n".join(lines)


def api_page() -> str:
    import verify

    by_module = _public_homes()
    lines = ["# Python API", "",
             "The public names of `import verify` (`verify.__all__`), each documented where it lives; "
             "`verify.NAME` is the same object.  Docstrings follow the numpydoc layout where they have sections; "
             "formulas are written in plain ASCII/LaTeX-ish math with the paper's numbering.", ""]
    for module, names in by_module.items():
        lines += [f"## `{module}`", "", "```{eval-rst}"]
        for name in names:
            obj = getattr(verify, name)
            directive = "autoclass" if isinstance(obj, type) else "autofunction"
            target = f"{module}.{name}" if module != "verify" else f"verify.{name}"
            lines.append(f".. {directive}:: {target}")
            if directive == "autoclass":
                lines += ["   :members:", "   :undoc-members:"]
            lines.append("")
        lines += ["```", ""]
    return "\n".join(lines)


def _public_homes() -> dict[str, list[str]]:
    import verify

    homes: dict[str, list[str]] = {}
    for name in verify.__all__:
        obj = getattr(verify, name)
        homes.setdefault(obj.__module__ if name != "check_claim" else "verify", []).append(name)
    return homes


def module_pages() -> dict[str, str]:
    """One page per module of the package (``automodule``), the public names left to the API page."""
    import importlib
    import pkgutil

    import verify

    homes = _public_homes()
    names = ["verify"] + sorted(m.name for m in pkgutil.walk_packages(verify.__path__, "verify.")
                                if not m.name.endswith("__main__"))
    pages = {}
    for mod in names:
        package = hasattr(importlib.import_module(mod), "__path__")
        lines = [f"# `{mod}`", "", "```{eval-rst}", f".. automodule:: {mod}"]
        if not package:  # a package only re-exports its modules' names: its docstring is its page
            lines += ["   :members:", "   :undoc-members:", "   :ignore-module-all:"]
        public = homes.get(mod, [])
        if public and not package:
            lines.append(f"   :exclude-members: {', '.join(public)}")
        lines += ["```", ""]
        if public:
            lines += ["Public names documented in [the Python API](../api.md): "
                      + ", ".join(f"{{py:obj}}`~{mod}.{n}`" if mod != "verify" else f"{{py:obj}}`~verify.{n}`"
                                  for n in public) + ".", ""]
        pages[mod] = "\n".join(lines)
    toc = "\n".join(names)
    pages["index"] = ("# Modules\n\nEvery module of the package, with what it documents beyond the public API.\n\n"
                      f"```{{toctree}}\n:maxdepth: 1\n\n{toc}\n```\n")
    return pages


def cli_page() -> str:
    """Every command's ``--help``, from the parser itself (:func:`verify.cli._parser`), at 100 columns."""
    import argparse
    import os

    from verify.cli import _parser

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        parser = _parser()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        helps = {a.dest: a.help for a in sub._choices_actions}
        lines = ["# Command line", "",
                 "Generated from the argument parser of the `verify` command ({mod}`verify.cli`): each section is "
                 "what `verify COMMAND --help` prints.  `python -m verify` is the same command.  Exit status: 0 "
                 "when everything passed (or the formula was accepted), 1 when a check failed (or the formula was "
                 "rejected), 2 on bad usage, with one line saying what is wrong.", "",
                 "```text", parser.format_help().rstrip(), "```", ""]
        for name, p in sub.choices.items():
            lines += [f"## `verify {name}`", "", md_text(helps.get(name) or "").capitalize() + ".", "",
                      "```text", p.format_help().rstrip(), "```", ""]
    finally:
        if saved is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved
    return "\n".join(lines)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def generate(app) -> None:
    """Write the generated pages into the source directory (only those whose text changed)."""
    from verify.kernel.registry import registry
    from verify.kernel.verdict import verdict

    src = Path(app.srcdir)
    root = src.parent
    reg = registry()
    missing = [i for i in reg if i not in USES]
    unknown = [i for i in USES if i not in reg]
    if missing or unknown:
        raise ValueError(f"statement_uses.USES: missing {missing}, unknown {unknown}")
    sts = list(reg.values())
    data = evidence(root, Path(app.doctreedir), sts, app.config.sv_seed)
    records = {i: [r for r in data["records"] if r.id == i] for i in reg}
    mutants = {i: [r for r in data["mutants"] if r.id == i] for i in reg}
    vs = {i: verdict(reg[i].finding, records[i]) for i in reg}
    verdicts = {i: v.kind for i, v in vs.items()}
    used_by = {i: [j for j in reg if i in USES[j]] for i in reg}
    out = src / "statements"
    keep = {f"{i}.md" for i in reg} | {"index.md"}
    for old in out.glob("*.md") if out.exists() else ():
        if old.name not in keep:
            old.unlink()
    for i, st in reg.items():
        _write(out / f"{i}.md", statement_page(st, records[i], mutants[i], data["campaigns"].get(i), reg, used_by))
    _write(out / "index.md", index_page(reg, verdicts))
    _write(src / "findings.md", findings_page(reg, verdicts, vs))
    _write(src / "reference" / "api.md", api_page())
    _write(src / "reference" / "cli.md", cli_page())
    for name, text in module_pages().items():
        _write(src / "reference" / "modules" / f"{name}.md", text)
    graph = sv_graph.svg(_graph_nodes(reg, verdicts), USES, href_prefix="statements/")
    _write(src / "statements" / "graph-home.html", '<div class="sv-graph-wrap sv-wide">' + graph + "</div>\n")
    import jupytext

    nb = jupytext.read(root / "notebooks" / "tutorial.py")
    _write(src / "tutorial.ipynb", jupytext.writes(nb, fmt="ipynb"))
    bad = [i for i, k in verdicts.items() if k == "not established"]
    if bad:
        logger.warning(f"[softmax-verify] not established at seed {app.config.sv_seed}: {', '.join(bad)}",
                       type="softmax_verify", subtype="verdict")


def inputs_hash(root: Path) -> str:
    """A hash of everything the site is built from: the package, the proofs, the docs sources (not what the build
    generates), the tutorial and the README (the add-a-statement page includes it)."""
    h = hashlib.sha256()
    docs = root / "docs"
    generated = [docs / g for g in GENERATED]
    files = [p for sub in ("verify", "proofs") for p in (root / sub).rglob("*.py")]
    files += [p for p in docs.rglob("*") if p.is_file() and "_build" not in p.parts and "__pycache__" not in p.parts
              and not any(p == g or g in p.parents for g in generated)]
    files += [root / "README.md", root / "notebooks" / "tutorial.py"]
    for p in sorted(set(files)):
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def stamp(app, exception) -> None:
    """``build-info.json`` in the output: what the build was made from and how it went (read by the tests)."""
    if exception is not None or app.builder.format != "html":
        return
    info = {"inputs": inputs_hash(Path(app.srcdir).parent), "warnings": getattr(app, "_warncount", None),
            "nitpicky": bool(app.config.nitpicky), "seed": app.config.sv_seed}
    (Path(app.outdir) / "build-info.json").write_text(json.dumps(info, indent=1))


def setup(app):
    app.add_config_value("sv_seed", 0, "env")
    app.connect("builder-inited", generate)
    app.connect("build-finished", stamp)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
