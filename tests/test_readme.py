"""The README works when copy-pasted: every shell command of its example session and every Python block runs as
written in a fresh directory; the outputs it shows are what the commands print today; and no output of the session
(terminal, JSON, LaTeX, HTML, Markdown, CSV, figures' metadata) cites a document a reader does not have or a path of
the machine that wrote it.  The commands that take minutes (the quick audit, the quick training, the report) run in
the slow test (``--verify-slow``)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import verify

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SLOW = ("verify audit", "verify train", "verify report")
"""Commands of the session that take minutes: run by the slow test only."""
FORBIDDEN = [r"\bissues?\b", r"paper\.md", r"seeds/", r"the handout", r"the slides", r"reviewer"]
"""What no output may say: the project's tracker, its private notes, its review."""
TOOL_LOGS = {".log", ".aux", ".toc", ".out"}
"""pdflatex's own files (its log names the TeX installation's paths): not outputs a reader is handed."""


def _section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def session() -> list[tuple[str, list[str]]]:
    """(command, the output lines the README shows under it) of the example session, in order."""
    block = re.search(r"```text\n(.*?)```", _section("An example session"), re.S).group(1)
    out: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            out.append((line[2:].strip(), []))
        elif out:
            out[-1][1].append(line)
    return out


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def _env() -> dict:
    env = dict(os.environ, COLUMNS="100")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


def _argv(command: str) -> list[str]:
    argv = shlex.split(command)
    if argv[0] == "verify":
        exe = shutil.which("verify")
        argv = ([exe] if exe else [sys.executable, "-m", "verify"]) + argv[1:]
    return argv


def _mask(line: str) -> str:
    """A line with what differs from run to run (timings) masked."""
    line = re.sub(r"(pass|FAIL)(\s+)\d+\.\d+\s*$", r"\1\2#", line.rstrip())
    line = re.sub(r"\d+(?:\.\d+)?(\s?s\b)", r"#\1", line)  # "in 41.5 s", "27.2s"
    return line


def _shown_in_order(shown: list[str], printed: str) -> None:
    """Every line the README shows (but the ``...`` elisions) is printed, in that order."""
    lines = [_mask(ln) for ln in printed.splitlines()]
    at = 0
    for want in (_mask(ln) for ln in shown):
        if want.strip() in ("", "..."):
            continue
        try:
            at = lines.index(want, at) + 1
        except ValueError:
            raise AssertionError(f"the README shows a line the command does not print:\n  {want!r}\nprinted:\n"
                                 + printed[:3000]) from None


def _forbidden_in(text: str, where: str, tmp: Path) -> list[str]:
    found = [f"{where}: {p}" for p in FORBIDDEN if re.search(p, text, re.I)]
    for path in {str(tmp), str(tmp.resolve()), str(ROOT), str(Path.home())}:
        if path not in ("/", "") and path in text:
            found.append(f"{where}: the machine path {path}")
    if re.search(r"(?<![\w.:/~-])/(?:tmp|root|home|work|usr|var|private)/", text):
        found.append(f"{where}: an absolute path")
    return found


def _outputs(tmp: Path) -> list[tuple[str, str]]:
    """(name, text) of every file the session wrote: text files as text, PNG metadata, the PDF's bytes."""
    out = []
    for p in sorted(tmp.rglob("*")):
        if not p.is_file() or p.suffix in TOOL_LOGS or p.name.startswith("readme_block"):
            continue
        rel = p.relative_to(tmp).as_posix()
        if p.suffix == ".png":
            from PIL import Image

            with Image.open(p) as im:
                out.append((rel, repr(dict(getattr(im, "text", {}) or im.info))))
        elif p.suffix == ".pdf":
            out.append((rel, p.read_bytes().decode("latin-1")))
        else:  # inline images are data, not text: their base64 may spell anything
            out.append((rel, re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,", p.read_text(errors="replace"))))
    return out


def _in_process(command: str, tmp: Path) -> tuple[int, str, str]:
    """Run a ``verify`` command through :func:`verify.cli.main` in this process (no interpreter start, the registry
    already loaded), in ``tmp``, on a 100-column terminal."""
    from verify.cli import main

    out, err = io.StringIO(), io.StringIO()
    here, columns = Path.cwd(), os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    os.chdir(tmp)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(shlex.split(command)[1:])
    finally:
        os.chdir(here)
        if columns is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = columns
    return code, out.getvalue(), err.getvalue()


def _run_session(tmp: Path, slow: bool) -> list[str]:
    """Run the session's commands in ``tmp`` -- all of them in fresh processes with ``slow``, else the fast ones
    in this process; check each against what the README shows; return what is forbidden in what they printed and
    wrote."""
    problems = []
    for command, shown in session():
        if command.startswith(SLOW) and not slow:
            continue
        if "--pdf" in command and shutil.which("pdflatex") is None:
            continue
        if shutil.which("pdflatex") is None:
            shown = [ln for ln in shown if not ln.endswith(".pdf")]
        if slow:
            proc = subprocess.run(_argv(command), cwd=tmp, env=_env(), capture_output=True, text=True, timeout=1800)
            code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
        else:
            code, stdout, stderr = _in_process(command, tmp)
        expected = 1 if any(ln.startswith("DIFFERENT") for ln in shown) else 3 if any(ln.startswith("UNDECIDED") for ln in shown) else 0
        assert code == expected, (command, code, stderr[-2000:])
        _shown_in_order(shown, stdout)
        problems += _forbidden_in(stdout + stderr, f"$ {command}", tmp)
    for name, text in _outputs(tmp):
        problems += _forbidden_in(text, name, tmp)
    return problems


def test_the_session_is_parsed():
    commands = [c for c, _ in session()]
    assert len(commands) >= 6 and all(c.startswith("verify ") for c in commands)
    assert any(c.startswith(SLOW) for c in commands) and any(not c.startswith(SLOW) for c in commands)
    assert len(python_blocks()) >= 2


def test_the_fast_commands_of_the_session_run_as_written_and_print_what_the_readme_shows(tmp_path):
    problems = _run_session(tmp_path, slow=False)
    assert not problems, problems


def test_the_command_of_the_session_is_installed():
    """The session types ``verify``: the console script (or ``python -m verify``) answers."""
    proc = subprocess.run(_argv("verify --version"), env=_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("softmax-verify ")


@pytest.mark.slow
def test_the_whole_session_runs_and_no_output_cites_a_private_document_or_a_machine_path(tmp_path, request):
    if not request.config.getoption("--verify-slow"):
        pytest.skip("the quick audit, the quick training and the report take minutes: run with --verify-slow")
    problems = _run_session(tmp_path, slow=True)
    assert (tmp_path / "out" / "report" / "report.html").exists() and (tmp_path / "out" / "audit" / "audit.json").exists()
    docs = ROOT / "docs"
    if docs.is_dir():  # the documentation site, when there is one, is an output too
        for p in sorted(docs.rglob("*")):
            if p.is_file() and p.suffix in (".md", ".html", ".rst", ".txt", ".py"):
                problems += _forbidden_in(p.read_text(errors="replace"), p.relative_to(ROOT).as_posix(), tmp_path)
    assert not problems, problems


@pytest.mark.parametrize("k", range(len(python_blocks())))
def test_every_python_block_runs_as_written(k, tmp_path, monkeypatch):
    """Each block, saved as a script in a fresh directory, runs (in this process: the imports are loaded)."""
    import runpy

    script = tmp_path / f"readme_block_{k}.py"
    script.write_text(python_blocks()[k])
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        runpy.run_path(str(script), run_name="__main__")
    assert not _forbidden_in(out.getvalue(), f"block {k}", tmp_path)


def test_the_api_block_uses_only_exported_names():
    api = python_blocks()[-1]
    used = set(re.findall(r"\bverify\.([A-Za-z_]\w*)", api))
    assert used and used <= set(verify.__all__), sorted(used - set(verify.__all__))


def test_the_forbidden_patterns_are_seen():
    """The grep of the session's outputs can fail: each pattern is found where it is planted."""
    tmp = Path("/tmp/some-run")
    for planted in ("see issue 17", "as paper.md Sec. 5 says", "seeds/003", "the handout", "The slides call it",
                    "the reviewer", "wrote /tmp/some-run/out/x.json", f"source: {ROOT}/out/run.json"):
        assert _forbidden_in(planted, "planted", tmp), planted
    assert not _forbidden_in("github.com/MachineLearning-Nerd/icml26-repro; wrote out/audit/report.md", "clean", tmp)
