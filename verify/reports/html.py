"""``verify report``: one self-contained HTML page people read, and the LaTeX/PDF appendix beside it.

The page renders what the other commands saved:

- the statements' evidence records (what ``verify run --json`` prints: a JSON array of records),
- the audit of Props 3.1/3.4 (``verify audit -o DIR``: ``audit.json`` and its PNG figures),
- the training study (``verify train -o DIR``: ``train.json`` and its PNG figures),

findings first, then the tables.  Figures are inline (base64 PNG), there is no script and no network
reference, and every number is a link to the anchor of the check (evidence record, fit, training run) that
produced it.

This module reads and renders; it never runs a statement or a study.  :func:`load_inputs` reads saved outputs
from directories (and their immediate subdirectories) into :class:`ReportInputs`; :func:`write_report` writes the
page and the appendix from loaded results.  ``verify report`` (the command line) runs what is absent, saves its
raw output and loads it back through :func:`load_inputs`, so ``verify report --from DIR`` later rebuilds the same
page without computing.

>>> _link_numbers("slope -0.607 at L=1e+08", "#fit-3")
'slope <a class="num" href="#fit-3">-0.607</a> at L=<a class="num" href="#fit-3">1e+08</a>'
>>> _slug("Prop 3.1 :: z-test")
'prop-3-1-z-test'
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
import shutil
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Iterable, Sequence

from verify.reports.latex import CompileResult, compile_pdf, document
from verify.studies.figures import pyplot

__all__ = ["ReportInputs", "ReportResult", "load_inputs", "render_html", "write_report", "records_from_json"]

_NUMBER = re.compile(r"(?<![\w.#-])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w])")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")


def _esc(text) -> str:
    return html.escape(str(text), quote=False)


def _attr(text) -> str:
    return html.escape(str(text), quote=True)


def _link_numbers(text: str, href: str) -> str:
    """``text`` escaped for HTML with every number in it a link to ``href`` (the check that produced it)."""
    return _NUMBER.sub(lambda m: f'<a class="num" href="{_attr(href)}">{m.group(0)}</a>', _esc(text))


def _num(value, href: str, fmt: str = "{:.4g}") -> str:
    """One number, formatted and linked."""
    if value is None:
        return "&ndash;"
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = str(value)
    else:
        text = fmt.format(value)
    return f'<a class="num" href="{_attr(href)}">{_esc(text)}</a>'


# ----------------------------------------------------------------------------------------------------------
# inputs

def _is_records(doc) -> bool:
    return (isinstance(doc, list) and bool(doc) and all(isinstance(r, dict) for r in doc)
            and all({"id", "name", "kind", "passed"} <= set(r) for r in doc))


def records_from_json(records: list[dict]) -> list:
    """``verify run --json`` records back into :class:`verify.kernel.statement.Evidence` (``"inf"`` figures as floats)."""
    from verify.kernel.statement import Evidence

    names = {f.name for f in fields(Evidence)}
    out = []
    for r in records:
        if r.get("kind") == "verdict":  # a statement's verdict, not an evidence item
            continue
        kw = {k: v for k, v in r.items() if k in names}
        for k in ("figure", "threshold"):
            if isinstance(kw.get(k), str):
                kw[k] = float(kw[k])
        out.append(Evidence(**kw))
    return out


@dataclass
class ReportInputs:
    """The saved outputs a page renders: ``verify run --json`` records, ``audit.json`` and ``train.json`` (each
    with the PNG figures beside it); ``None`` (or empty) when absent.  ``sources`` says where each was read."""

    records: list[dict] | None = None
    audit: dict | None = None
    audit_figures: list[Path] = field(default_factory=list)
    train: dict | None = None
    train_figures: list[Path] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)


def load_inputs(dirs: Iterable) -> ReportInputs:
    """Scan ``dirs`` (and their immediate subdirectories) for ``verify run --json`` records (any ``*.json``
    holding a record array), ``audit.json`` and ``train.json`` (with the PNGs beside each).  The first found of
    each kind wins."""
    found = ReportInputs()
    for d in dirs:
        d = Path(d)
        if not d.is_dir():
            raise ValueError(f"dirs: {str(d)!r} is not a directory")
        for sub in [d] + sorted(p for p in d.iterdir() if p.is_dir()):
            for f in sorted(sub.glob("*.json")):
                if f.name == "audit.json" and found.audit is None:
                    found.audit = json.loads(f.read_text())
                    found.audit_figures = sorted(sub.glob("*.png"))
                    found.sources["audit"] = str(f)
                elif f.name == "train.json" and found.train is None:
                    found.train = json.loads(f.read_text())
                    found.train_figures = sorted(sub.glob("*.png"))
                    found.sources["train"] = str(f)
                elif found.records is None and f.name not in ("audit.json", "train.json"):
                    try:
                        doc = json.loads(f.read_text())
                    except ValueError:
                        continue
                    if _is_records(doc):
                        found.records = doc
                        found.sources["records"] = str(f)
    return found


# ----------------------------------------------------------------------------------------------------------
# figures

def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    pyplot().close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _margin(r: dict) -> float | None:
    """How close a record came to its threshold: figure/threshold for '<=', threshold/figure for '>=' (1 = on
    the threshold, < 1 passes); None when undefined."""
    try:
        fig, thr = float(r["figure"]), float(r["threshold"])
    except (TypeError, ValueError):
        return None
    if r.get("kind") == "symbolic" or not (math.isfinite(fig) and math.isfinite(thr)):
        return None
    if r.get("relation") == "<=" and thr > 0:
        return abs(fig) / thr
    if r.get("relation") == ">=" and fig > 0 and thr > 0:
        return thr / fig
    return None


def _records_figure(records: list[dict]) -> str:
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    ms = [(k, _margin(r), r["passed"]) for k, r in enumerate(records)]
    ms = [(k, m, p) for k, m, p in ms if m is not None and m > 0]
    if ms:
        a1.scatter([k for k, _, _ in ms], [m for _, m, _ in ms], s=12,
                   c=["tab:green" if p else "tab:red" for _, _, p in ms])
        a1.set_yscale("log")
    a1.axhline(1.0, color="k", ls="--", lw=0.8)
    a1.set_xlabel("record #")
    a1.set_ylabel("figure / threshold (1 = on the threshold)")
    a1.set_title("margin of every evidence record (green pass, red fail)")
    per: dict[str, float] = {}
    for r in records:
        per[r["id"]] = per.get(r["id"], 0.0) + float(r["seconds"])
    ids = list(per)
    a2.barh(range(len(ids)), [per[i] for i in ids], color="tab:blue")
    a2.set_yticks(range(len(ids)))
    a2.set_yticklabels(ids, fontsize=7)
    a2.invert_yaxis()
    a2.set_xlabel("seconds")
    a2.set_title("time per statement")
    fig.tight_layout()
    return _png(fig)


def _train_parts(train: dict) -> tuple[list, list, list]:
    """(L = inf runs, init-interval cells, fits) of a train.json: the one-part layout ({"infinite",
    "init_interval"}) or the three-part one ({"runs": {"infinite": {"runs", "init_interval"}, ...}, "fits"})."""
    inf = train.get("runs", {}).get("infinite", {}) if isinstance(train.get("runs"), dict) else {}
    return (train.get("infinite") or inf.get("runs", []), train.get("init_interval") or inf.get("init_interval", []),
            train.get("fits", []))


def _train_figure(train: dict) -> str | None:
    cells = [c for c in _train_parts(train)[1] if c.get("t_reach") is not None]
    if not cells:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for d, norm in sorted({(c["d"], c["sigma_op"]) for c in cells}):
        row = sorted((c for c in cells if c["d"] == d and c["sigma_op"] == norm), key=lambda c: c["alpha"])
        line, = ax.loglog([c["alpha"] for c in row], [c["t_reach"] for c in row], "-", lw=1,
                          label=f"d={d}, ||Sigma||={norm:g}")
        inside = [c for c in row if c.get("in_printed")]
        ax.loglog([c["alpha"] for c in inside], [c["t_reach"] for c in inside], "o", ms=4, color=line.get_color())
        outside = [c for c in row if not c.get("in_printed")]
        ax.loglog([c["alpha"] for c in outside], [c["t_reach"] for c in outside], "o", ms=4, mfc="none",
                  color=line.get_color())
    ax.set_xlabel("alpha (balanced init scale)")
    ax.set_ylabel("time to reach the family to 1e-6")
    ax.set_title("init interval: filled = inside the printed interval, hollow = outside")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


def _figure_html(anchor: str, b64: str, caption: str) -> str:
    return (f'<figure id="{_attr(anchor)}"><img alt="{_attr(caption)}" src="data:image/png;base64,{b64}">'
            f"<figcaption>{_esc(caption)}</figcaption></figure>")


# ----------------------------------------------------------------------------------------------------------
# the page

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:1em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}
tr.fail td{background:#fde4e4}tr:target td{background:#fff6c8}li:target{background:#fff6c8}
a.num{color:#0645ad;text-decoration:none;border-bottom:1px dotted #0645ad}
.pass{color:#1a7f37;font-weight:bold}.fail-word{color:#c62828;font-weight:bold}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.85em;color:#555}
.detail{font-size:.8em;color:#555}.src{font-size:.8em;color:#777}
#findings{background:#f6f8fa;padding:.3em 1em 1em;border-radius:6px}
"""


def _value(v, href: str) -> str:
    """A JSON value with its numbers linked (floats to 4 significant digits, lists element by element)."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return _num(v, href)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x, href) for x in v) + "]"
    return _link_numbers(str(v), href)


def _train_anchor(finding: str) -> str:
    if finding.startswith(("[finite]", "[sgd]")):
        return "#train-fits"
    return "#train-interval" if "init interval" in finding or "escape" in finding else "#train-infinite"


def _record_anchors(records: list[dict]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for r in records:
        a = f"ev-{_slug(r['id'])}-{_slug(r['name'])}"
        seen[a] = seen.get(a, 0) + 1
        out.append(a if seen[a] == 1 else f"{a}-{seen[a]}")
    return out


def render_html(data: ReportInputs, *, meta: dict | None = None, appendix: Iterable = ()) -> str:
    """The whole page for ``data``; ``meta`` maps statement ids to statements (number, summary, status);
    ``appendix`` the file names of the LaTeX/PDF appendix written beside the page."""
    records = data.records or []
    audit, train = data.audit, data.train
    meta = meta or {}
    anchors = _record_anchors(records)
    first_of = {}
    for r, a in zip(records, anchors):
        first_of.setdefault(r["id"], f"st-{_slug(r['id'])}")
    find, body = [], []

    # --- findings (first) -----------------------------------------------------------------------------
    n_pass = sum(bool(r["passed"]) for r in records)
    find.append(f'<p>Statements: <a class="num" href="#statements">{n_pass}</a> of '
                f'<a class="num" href="#statements">{len(records)}</a> evidence records pass over '
                f'<a class="num" href="#statements">{len(first_of)}</a> statements.</p>')
    failed = [(r, a) for r, a in zip(records, anchors) if not r["passed"]]
    if failed:
        find.append("<p class=\"fail-word\">Failed checks:</p><ul>" + "".join(
            f'<li><a href="#{a}">{_esc(r["id"])} :: {_esc(r["name"])}</a>: {_link_numbers(r.get("detail", ""), "#" + a)}</li>'
            for r, a in failed) + "</ul>")
    flagged = [(s.id, s.status) for s in meta.values() if s.id in first_of and s.status != "verified"]
    if flagged:
        find.append("<p>Statements whose status is qualified (not plainly \"verified\"):</p><ul>" + "".join(
            f'<li><a href="#st-{_slug(i)}">{_esc(i)}</a>: {_link_numbers(st, "#st-" + _slug(i))}</li>'
            for i, st in flagged) + "</ul>")
    close = sorted(((m, r, a) for r, a in zip(records, anchors) if (m := _margin(r)) is not None),
                   key=lambda t: -t[0])[:5]
    if close:
        find.append("<p>Closest to their thresholds (figure / threshold):</p><ul>" + "".join(
            f'<li><a href="#{a}">{_esc(r["id"])} :: {_esc(r["name"])}</a>: {_num(m, "#" + a, "{:.3g}")}</li>'
            for m, r, a in close) + "</ul>")
    if audit:
        find.append("<p>Audit of Props 3.1/3.4:</p><ul>" + "".join(
            f'<li><a href="#audit-{_slug(f["id"])}">{_esc(f["id"])}</a>: '
            f'{_link_numbers(f["summary"], "#audit-" + _slug(f["id"]))}</li>' for f in audit.get("findings", []))
            + "</ul>")
    if train:
        find.append("<p>Training:</p><ul>" + "".join(
            f'<li>{_link_numbers(f, _train_anchor(f))}</li>' for f in train.get("findings", [])) + "</ul>")

    # --- statements ----------------------------------------------------------------------------------
    body.append('<h2 id="statements">Statements and their evidence</h2>')
    body.append(f'<p class="src">source: {_esc(data.sources.get("records", "?"))}</p>')
    if records:
        body.append(_figure_html("fig-records", _records_figure(records),
                                 "Left: every evidence record's figure / threshold (log; 1 = on the threshold). "
                                 "Right: seconds per statement."))
    current = None
    rows = []
    for r, a in zip(records, anchors):
        if r["id"] != current:
            if rows:
                rows.append("</table>")
            current = r["id"]
            s = meta.get(current)
            head = f"{s.number}: {s.summary} [{s.status}]" if s is not None else ""
            rows.append(f'<h3 id="st-{_slug(current)}">{_esc(current)}</h3><p>{_esc(head)}</p>'
                        "<table><tr><th>evidence</th><th>kind</th><th>figure</th><th>threshold</th><th>result</th>"
                        "<th>seconds</th><th>detail</th></tr>")
        h = "#" + a
        word = '<span class="pass">pass</span>' if r["passed"] else '<span class="fail-word">FAIL</span>'
        rows.append(f'<tr id="{a}" class="{"ok" if r["passed"] else "fail"}"><td>{_esc(r["name"])}</td>'
                    f'<td>{_esc(r["kind"])}</td><td>{_num(r["figure"], h)} {_esc(r.get("unit", ""))}</td>'
                    f'<td>{_esc(r.get("relation", ""))} {_num(r["threshold"], h)}</td><td>{word}</td>'
                    f'<td>{_num(r["seconds"], h, "{:.2f}")}</td>'
                    f'<td class="detail">{_link_numbers(r.get("detail", ""), h)}</td></tr>')
    if rows:
        rows.append("</table>")
    body += rows

    # --- audit ---------------------------------------------------------------------------------------
    if audit:
        m = audit.get("meta", {})
        body.append('<h2 id="audit">Audit: Props 3.1/3.4 measured</h2>')
        body.append(f'<p class="src">source: {_esc(data.sources.get("audit", "?"))}; seed '
                    f'{_num(m.get("seed"), "#audit", "{}")}, quick={_esc(m.get("quick"))}, '
                    f'{_num(m.get("seconds"), "#audit", "{}")} s</p>')
        body.append("<h3>Findings</h3><ul>")
        for f in audit.get("findings", []):
            a = "audit-" + _slug(f["id"])
            ev = _esc(f.get("evidence", ""))
            for sid, sa in first_of.items():  # the statements a finding names link to their evidence
                ev = re.sub(rf"(?<![\w-]){re.escape(sid)}(?![\w-])", f'<a href="#{sa}">{sid}</a>', ev)
            body.append(f'<li id="{a}"><b>{_esc(f["id"])}</b>: {_link_numbers(f["summary"], "#" + a)}'
                        f'<br><span class="detail">evidence: {ev}</span></li>')
        body.append("</ul>")
        for k, p in enumerate(data.audit_figures):
            p = Path(p)
            body.append(_figure_html(f"fig-audit-{_slug(p.stem)}", base64.b64encode(p.read_bytes()).decode("ascii"),
                                     f"audit figure {p.name}"))
        body.append('<h3 id="audit-constants">Paper-form constants</h3><table><tr><th>measure</th><th>d</th>'
                    "<th>case</th><th>method</th><th>c2 largest</th><th>c2 sharp</th><th>c1 smallest</th>"
                    "<th>c1 at sharp c2</th><th>holds L&ge;2</th></tr>")
        for k, c in enumerate(audit.get("constants", [])):
            h = f"#audit-const-{k}"
            body.append(f'<tr id="audit-const-{k}"><td>{_esc(c["measure"])}</td><td>{_num(c["d"], h, "{}")}</td>'
                        f'<td>{_esc(c["case"])}</td><td>{_esc(c["method"])}</td><td>{_num(c["c2_largest"], h)}</td>'
                        f'<td>{_num(c["c2_sharp"], h)}</td><td>{_num(c["c1_smallest"], h)}</td>'
                        f'<td>{_num(c["c1_at_sharp_c2"], h)}</td><td>{_esc(c["holds_for_L_ge_2"])}</td></tr>')
        body.append("</table>")
        body.append('<h3 id="audit-fits">Fits (global and last local)</h3><table><tr><th>statement</th><th>measure</th>'
                    "<th>d</th><th>sigma</th><th>method</th><th>kind</th><th>slope</th><th>95% CI</th><th>L</th>"
                    "<th>predicted</th><th>pre-asymptotic</th></tr>")
        for k, f in enumerate(audit.get("fits", [])):
            h = f"#fit-{k}"
            body.append(f'<tr id="fit-{k}"><td>{_esc(f["statement"])}</td><td>{_esc(f["measure"])}</td>'
                        f'<td>{_num(f["d"], h, "{}")}</td><td>{_num(f["sigma"], h, "{:g}")}</td>'
                        f'<td>{_esc(f["method"])}</td><td>{_esc(f["kind"])}</td><td>{_num(f["slope"], h)}</td>'
                        f'<td>[{_num(f["ci_low"], h)}, {_num(f["ci_high"], h)}]</td>'
                        f'<td>{_num(f["L_min"], h, "{:.0e}")}..{_num(f["L_max"], h, "{:.0e}")}</td>'
                        f'<td>{_num(f["predicted_exponent"], h)}</td><td>{_esc(f["pre_asymptotic"])}</td></tr>')
        body.append("</table>")

    # --- training ------------------------------------------------------------------------------------
    if train:
        body.append('<h2 id="train">Training (verify train: L = &infin;, finite L, SGD)</h2>')
        body.append(f'<p class="src">source: {_esc(data.sources.get("train", "?"))}</p>')
        body.append('<h3 id="train-infinite">Gradient flows</h3><table><tr><th>case</th><th>t(1e-9)</th>'
                    "<th>distance</th><th>R - s&sup2;/2</th><th>drift / allowed</th><th>energy gap</th><th>GD order</th>"
                    "<th>seconds</th></tr>")
        infinite, cells, fits = _train_parts(train)
        for k, r in enumerate(infinite):
            h = f"#train-run-{k}"
            drift = r["balance_drift"] / r["balance_allowed"] if r.get("balance_allowed") else None
            body.append(f'<tr id="train-run-{k}"><td>{_esc(r["label"])}</td><td>{_num(r["t_converged"], h)}</td>'
                        f'<td>{_num(r["distance"], h, "{:.2g}")}</td><td>{_num(r["excess_risk"], h, "{:.2g}")}</td>'
                        f'<td>{_num(drift, h, "{:.2g}")}</td><td>{_num(r["dissipation_gap"], h, "{:.1g}")}</td>'
                        f'<td>{_num(r["gd_order"], h, "{:.3f}")}</td><td>{_num(r["seconds"], h, "{:.1f}")}</td></tr>')
        body.append("</table>")
        body.append('<h3 id="train-interval">Initialisation interval</h3>')
        b64 = None if data.train_figures else _train_figure(train)
        if b64:
            body.append(_figure_html("fig-train-interval", b64, "time to converge against the init scale alpha"))
        conv = sum(bool(c.get("converged")) for c in cells)
        body.append(f'<p>{_num(conv, "#train-interval", "{}")} of {_num(len(cells), "#train-interval", "{}")} '
                    "cells converge.</p>")
        body.append('<h3 id="train-fits">Fits and figures</h3><ul>')
        for k, f in enumerate(fits):
            h = f"#train-fit-{k}"
            items = ", ".join(f"{_esc(key)} = " + _value(v, h) for key, v in f.items())
            body.append(f'<li id="train-fit-{k}">{items}</li>')
        body.append("</ul>")
        for p in data.train_figures:
            p = Path(p)
            body.append(_figure_html(f"fig-train-{_slug(p.stem)}", base64.b64encode(p.read_bytes()).decode("ascii"),
                                     f"training figure {p.name}"))

    links = "".join(f'<li><a href="{_attr(n)}">{_esc(n)}</a></li>' for n in appendix)
    if links:
        body.append(f'<h2 id="appendix">LaTeX/PDF appendix</h2><ul>{links}</ul>')
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<link rel="icon" href="data:,"><title>softmax-verify report</title>'
            f"<style>{_CSS}</style></head><body>"
            "<h1>softmax-verify report: Boursier &amp; Boyer, arXiv 2512.11784</h1>"
            '<section id="findings"><h2>Findings</h2>' + "".join(find) + "</section>"
            + "".join(body) + "</body></html>\n")


@dataclass(frozen=True)
class ReportResult:
    """What :func:`write_report` wrote: the page, the appendix's ``.tex`` and, when pdflatex ran, its
    :class:`~verify.reports.latex.CompileResult`; ``failure`` says what went wrong with the PDF (the page is
    written all the same), else None."""

    page: Path
    appendix: Path
    compiled: CompileResult | None = None
    failure: str | None = None

    @property
    def paths(self) -> list[Path]:
        """The files written, the page first (the PDF, or the log of a failed pdflatex run, last)."""
        extra = [self.compiled.pdf] if self.compiled is not None else []
        if self.failure is not None:
            extra.append(self.appendix.with_suffix(".log"))
        return [self.page, self.appendix, *extra]


def write_report(directory, *, records: list[dict], audit: dict | None = None, train: dict | None = None,
                 audit_figures: Iterable = (), train_figures: Iterable = (), sources: dict | None = None,
                 statements: Sequence | None = None, pdf: bool | None = None) -> ReportResult:
    """Write ``report.html`` and the appendix ``appendix.tex`` (and ``appendix.pdf`` when ``pdf`` or, by default,
    when pdflatex is on PATH) into ``directory`` (created if missing) from loaded results (see
    :func:`load_inputs`): ``records`` as ``verify run --json`` prints them, ``audit``/``train`` the saved
    ``audit.json``/``train.json`` and the PNG figures beside them.  ``statements`` give the numbering, summaries
    and the appendix's sections (default: the registered statements of the records' ids)."""
    if not isinstance(records, list):
        raise TypeError(f"records: expected a list of verify run --json records, got {type(records).__name__}")
    data = ReportInputs(records, audit, [Path(p) for p in audit_figures], train, [Path(p) for p in train_figures],
                        dict(sources or {}))
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    if statements is None:
        from verify.kernel.registry import statements as registered

        statements = registered()
    meta = {s.id: s for s in statements}
    evidence: dict = {}
    for ev in records_from_json(records):
        evidence.setdefault(ev.id, []).append(ev)
    tex = out / "appendix.tex"
    tex.write_text(document([meta[i] for i in evidence if i in meta], evidence))
    compiled, failure = None, None
    if pdf if pdf is not None else shutil.which("pdflatex") is not None:
        try:
            compiled = compile_pdf(tex)
        except RuntimeError as exc:  # the page is still written; the caller reports the failure
            failure = f"appendix.pdf: {str(exc).splitlines()[0]} (see {tex.with_suffix('.log')})"
    page = out / "report.html"
    result = ReportResult(page, tex, compiled, failure)
    page.write_text(render_html(data, meta=meta, appendix=[p.name for p in result.paths[1:]]))
    return result
