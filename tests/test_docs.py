"""The documentation site: built with warnings as errors and nitpicky references (``.ci/run`` builds it), one page
per registered statement, every internal link and anchor resolves, math is rendered, and no page names a private
document or a path of the machine that built it.

The tests read the build in ``docs/_build/html`` when it was made from the current sources (``build-info.json``
records a hash of them); otherwise they build the site themselves with the slow checks enabled, and skip without."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BUILD = DOCS / "_build" / "html"
BUILD_COMMAND = "sphinx-build -M html docs docs/_build -W -n --keep-going"

pytest.importorskip("sphinx", reason="the docs extra is not installed (pip install -e '.[docs]')")
pytest.importorskip("myst_nb", reason="the docs extra is not installed (pip install -e '.[docs]')")
pytest.importorskip("latex2mathml", reason="the docs extra is not installed (pip install -e '.[docs]')")

# private documents and tracker words no page may name (character classes keep this file from naming them itself)
FORBIDDEN = re.compile(r"i[s]sue|paper[.]md|seeds[/]|hand[o]ut|sl[i]des", re.I)
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:work|root|home|tmp|usr|opt|var|private|Users)/[\w.-]+")


def _inputs_hash() -> str:
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        from sv_pages import inputs_hash
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    return inputs_hash(ROOT)


def _slow_enabled(config) -> bool:
    return any(config.getoption(name, default=False) for name in ("--verify-slow",))


@pytest.fixture(scope="module")
def site(request, tmp_path_factory) -> Path:
    info = BUILD / "build-info.json"
    if info.exists() and json.loads(info.read_text()).get("inputs") == _inputs_hash():
        return BUILD
    if not _slow_enabled(request.config):
        pytest.skip(f"no build of the site from the current sources: run `{BUILD_COMMAND}` (as .ci/run does), "
                    "or enable the slow tests to build it here")
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-n", "--keep-going", "-b", "html",
                           "-d", str(out / "doctrees"), str(DOCS), str(out / "html")],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return out / "html"


class _Links(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                self.links.append(value)
            if name in ("id", "name") and value:
                self.ids.add(value)

    def handle_data(self, data):
        self.text.append(data)


def _parsed(path: Path) -> _Links:
    p = _Links()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def _pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.parts)


def test_the_build_had_no_warning_and_was_nitpicky(site):
    info = json.loads((site / "build-info.json").read_text())
    assert info["nitpicky"] is True
    assert info["warnings"] == 0, f"the build emitted {info['warnings']} warning(s); rebuild with {BUILD_COMMAND}"


def test_every_internal_link_and_anchor_resolves(site):
    pages = _pages(site)
    parsed = {p: _parsed(p) for p in pages}
    broken = []
    for page, p in parsed.items():
        for link in p.links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//"):
                continue  # external (http, https, mailto, data)
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists() or not target.resolve().is_relative_to(site.resolve()):
                broken.append(f"{page.relative_to(site)}: {link}")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = (parsed.get(target) or _parsed(target)).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{page.relative_to(site)}: {link} (no such anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(broken[:40])
    assert sum(len(p.links) for p in parsed.values()) > 500  # the parser saw the pages' links


def test_one_page_per_registered_statement(site):
    from verify.kernel.registry import registry
    from verify.kernel.verdict import VERDICTS

    reg = registry()
    pages = {p.stem for p in (site / "statements").glob("*.html")} - {"index"}
    assert pages == set(reg)
    index = (site / "statements" / "index.html").read_text()
    for sid, st in reg.items():
        html = (site / "statements" / f"{sid}.html").read_text()
        assert f'href="{sid}.html"' in index, f"the statement index or its graph does not link {sid}"
        assert "sv-verdict-box" in html and any(f">{v}<" in html for v in VERDICTS), f"{sid}: no verdict shown"
        assert 'class="sv-evidence"' in html, f"{sid}: no evidence table"
        for check in st.checks:
            if not check.slow:
                assert re.search(r">\s*pass\s*<", html), f"{sid}: no passing check shown"
        if any(c.mutants for c in st.checks if not c.slow):
            assert 'class="sv-mutants"' in html, f"{sid}: the refused mutants are not shown"
        if st.built_derivations() and not all(d.brief for d in st.built_derivations()):
            assert 'class="sv-derivation"' in html and "<math" in html, f"{sid}: no derivation rendered"


def test_math_is_rendered_as_mathml_everywhere(site):
    for page in _pages(site):
        html = page.read_text(encoding="utf-8")
        assert "sv-math-error" not in html, f"{page.relative_to(site)}: a formula could not be rendered"
        assert not re.search(r"<script[^>]*math", html, re.I), f"{page.relative_to(site)}: loads a math script"
    statement = (site / "statements" / "gaussian-limit.html").read_text()
    assert statement.count("<math") > 20


def test_no_page_names_a_private_document_or_a_machine_path(site):
    offenders = []
    files = _pages(site) + [site / "searchindex.js"]
    for f in files:
        text = f.read_text(encoding="utf-8")
        for rx in (FORBIDDEN, MACHINE_PATH):
            for m in rx.finditer(text):
                offenders.append(f"{f.relative_to(site)}: {text[max(0, m.start() - 60):m.end() + 60]!r}")
        if str(ROOT) in text:
            offenders.append(f"{f.relative_to(site)}: names the source directory")
    assert not offenders, "\n".join(offenders[:30])


def test_the_site_has_the_promised_pages(site):
    for page in ("index", "getting-started", "tutorial", "findings", "statements/index", "howto/check-a-formula",
                 "howto/add-a-statement", "howto/dask-sweeps", "howto/reproduce-the-audit", "reference/cli",
                 "reference/api"):
        assert (site / f"{page}.html").exists(), f"{page}.html is missing"
    tutorial = (site / "tutorial.html").read_text()
    assert "local slope at L = 1e4..1e6" in tutorial and "<img" in tutorial, "the tutorial was not executed"
    add = (site / "howto" / "add-a-statement.html").read_text()
    assert "example-second-moment" in add, "the README's example is not included"
    api = (site / "reference" / "api.html").read_text()
    import verify

    for name in verify.__all__:
        assert f"{name}" in api, f"the API page does not document {name}"


def _sv_pages():
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        import sv_pages
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    return sv_pages


def test_the_recorded_mutant_campaigns_are_of_todays_closed_forms_and_none_survived():
    """The statement pages show the generated-mutant campaigns of a record (scoring them all takes ~20 minutes of
    CPU): the record must have mutated today's closed form of every statement that has one, and kill every mutant
    not proved equivalent."""
    from verify.kernel.registry import statements

    sts = statements()
    found = _sv_pages().recorded_campaigns(ROOT, sts)
    ids = {st.id for st in sts if st.closed_form is not None}
    assert ids and ids <= set(found)
    assert all(found[i]["survived"] == 0 and found[i]["killed"] + found[i]["equivalent"] == found[i]["generated"]
               for i in ids)
    assert all(found[i]["record"]["command"] == "verify selftest --mutate --json" for i in ids)


def test_a_record_of_another_closed_form_is_refused(tmp_path):
    import gzip

    from verify.kernel.registry import statements

    pages = _sv_pages()
    with gzip.open(ROOT / pages.CAMPAIGN_RECORD, "rt") as f:
        doc = json.load(f)
    doc["campaigns"][0]["closed_form"] += " + V*m"          # a record scored on a different closed form
    (tmp_path / pages.CAMPAIGN_RECORD).parent.mkdir(parents=True)
    with gzip.open(tmp_path / pages.CAMPAIGN_RECORD, "wt") as f:
        json.dump(doc, f)
    with pytest.raises(ValueError, match="other closed forms"):
        pages.recorded_campaigns(tmp_path, statements())
