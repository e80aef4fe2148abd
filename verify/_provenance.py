"""Where a record comes from: what every JSON output carries so that it can be reproduced.

:func:`provenance` returns the package version, the git commit of the source tree when the package runs from a
checkout (and whether the tree had uncommitted changes), the seed, the versions of Python and of the numerical
libraries, and the exact command that reproduces the record.

>>> p = provenance(seed=3, command=["verify", "run", "--json", "--seed", "3"])
>>> p["seed"], p["command"], sorted(p["versions"])[:3]
(3, 'verify run --json --seed 3', ['flint', 'mpmath', 'numpy'])
"""

from __future__ import annotations

import functools
import platform
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path

__all__ = ["provenance", "package_version"]

_LIBRARIES = ("numpy", "sympy", "mpmath", "scipy", "python-flint")


def package_version() -> str:
    """The installed version of softmax-verify (the source tree's pyproject version when it is not installed)."""
    try:
        return metadata.version("softmax-verify")
    except metadata.PackageNotFoundError:
        text = (Path(__file__).resolve().parents[1] / "pyproject.toml")
        for line in text.read_text().splitlines() if text.exists() else []:
            if line.startswith("version"):
                return line.split("=", 1)[1].strip().strip('"')
        return "0+unknown"


@functools.lru_cache(maxsize=1)
def _git() -> tuple:
    """(commit, dirty) of the checkout the package is imported from, or (None, None) outside a git checkout."""
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return None, None
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10).stdout.strip() or None
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit, bool(status.strip()) if commit else None


@functools.lru_cache(maxsize=1)
def _versions() -> dict:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for lib in _LIBRARIES:
        try:
            out[lib.replace("python-", "")] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[lib.replace("python-", "")] = None
    return out


def provenance(seed: int | None = None, command=None) -> dict:
    """The provenance of a record: version, git commit (and dirty flag) when run from a checkout, seed, library
    versions and the command that reproduces it (``command`` as an argv list or a string; default: this process's
    ``verify ...`` command line)."""
    commit, dirty = _git()
    if command is None:
        program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
        command = ["verify" if program in ("verify", "__main__.py") else program, *sys.argv[1:]]
    text = command if isinstance(command, str) else shlex.join(str(c) for c in command)
    return {"package": "softmax-verify", "version": package_version(), "git_commit": commit, "git_dirty": dirty,
            "seed": seed, "versions": dict(_versions()), "command": text}
