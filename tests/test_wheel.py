"""The wheel works on its own: built from this tree, installed (not editable) with its dependencies into a fresh
virtual environment, and run from a directory outside the source tree, the `verify` command finds the statements
through their entry point and checks them.

Building the wheel and installing numpy, scipy, sympy, python-flint and matplotlib into a new environment takes
about a minute (from the local package index; longer from the network), so these tests run with the slow tests
only (``--verify-slow``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def _only_with_the_slow_tests(request):  # module scope: decided before the wheel is built
    if not any(request.config.getoption(name, default=False) for name in ("--verify-slow",)):
        pytest.skip("builds and installs the wheel in a fresh environment (about a minute): run with the slow tests")


def _run(args, cwd, env, timeout=900) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _clean_env(venv_dir: Path) -> dict:
    """This process's environment without anything that would put the source tree on the path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP",
                                                           "VIRTUAL_ENV", "PYTHONSAFEPATH")}
    env["PATH"] = os.pathsep.join([str(venv_dir / "bin"), env.get("PATH", "")])
    env["VIRTUAL_ENV"] = str(venv_dir)
    env["PYTHONNOUSERSITE"] = "1"
    env["COLUMNS"] = "120"
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of what the package is made of (so the build leaves nothing in this tree)."""
    base = tmp_path_factory.mktemp("build")
    src = base / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    for name in ("verify", "proofs"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    built = _run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-w", base / "dist"],
                 cwd=src, env=os.environ.copy())
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    wheels = sorted((base / "dist").glob("softmax_verify-*.whl"))
    assert len(wheels) == 1, f"expected one wheel, got {wheels}"
    return wheels[0]


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """A fresh virtual environment with the wheel installed in it; returns (venv, scratch dir, env)."""
    base = tmp_path_factory.mktemp("wheel")
    env_dir, scratch = base / "venv", base / "elsewhere"
    scratch.mkdir()
    venv.EnvBuilder(with_pip=True, system_site_packages=False, clear=True).create(env_dir)
    env = _clean_env(env_dir)
    python = env_dir / "bin" / "python"
    pip = _run([python, "-m", "pip", "install", "--disable-pip-version-check", "-q", wheel], cwd=scratch, env=env)
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    return env_dir, scratch, env


def test_the_wheel_carries_the_package_the_statements_and_the_markers(wheel):
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "verify/py.typed" in names
    assert "verify/cli.py" in names and "proofs/gaussian_limit.py" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[softmax_verify.statements]" in text and "paper = proofs" in text
    assert "verify = verify.cli:main" in text
    assert not [n for n in names if n.startswith(("tests/", "docs/", "bench/", "notebooks/"))]


def test_installed_package_is_the_wheel_not_the_source_tree(installed):
    env_dir, scratch, env = installed
    where = _run([env_dir / "bin" / "python", "-c",
                  "import verify, proofs, sys; print(verify.__file__); print(proofs.__file__); print(verify.__version__)"],
                 cwd=scratch, env=env)
    assert where.returncode == 0, where.stderr
    verify_file, proofs_file, version = where.stdout.split()
    for f in (verify_file, proofs_file):
        assert Path(f).resolve().is_relative_to(env_dir.resolve()), f"{f} is not inside the fresh environment"
        assert not Path(f).resolve().is_relative_to(ROOT), f"{f} comes from the source tree"
    assert version[0].isdigit()


def test_verify_list_finds_every_statement_through_the_entry_point(installed):
    from verify.kernel.registry import registry

    env_dir, scratch, env = installed
    out = _run([env_dir / "bin" / "verify", "list"], cwd=scratch, env=env)
    assert out.returncode == 0, out.stderr
    listed = {line.split()[0] for line in out.stdout.splitlines() if line.strip()}
    assert set(registry()) <= listed, f"missing from the installed wheel: {set(registry()) - listed}"


def test_verify_run_checks_lemma_2_1_from_the_wheel(installed):
    env_dir, scratch, env = installed
    out = _run([env_dir / "bin" / "verify", "run", "gaussian-limit"], cwd=scratch, env=env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "gaussian-limit" in out.stdout and "quadrature" in out.stdout
    assert "FAIL" not in out.stdout


def test_verify_claim_accepts_lemma_2_1_and_rejects_a_wrong_form_from_the_wheel(installed):
    env_dir, scratch, env = installed
    verify_exe = env_dir / "bin" / "verify"
    right = _run([verify_exe, "claim", "gaussian-limit", "--formula", "V*(m + Gamma*K.T*Q*z)"], cwd=scratch, env=env)
    assert right.returncode == 0, right.stdout + right.stderr
    wrong = _run([verify_exe, "claim", "gaussian-limit", "--formula", "V*Gamma*K.T*Q*z"], cwd=scratch, env=env)
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    module = _run([env_dir / "bin" / "python", "-m", "verify", "--version"], cwd=scratch, env=env)
    assert module.returncode == 0 and module.stdout.strip(), module.stderr
