r"""One grid engine for every sweep (``verify selftest --full``, ``verify audit``, ``verify run``; ``verify train``).

A sweep is a list of independent **cells**.  A cell is ``Cell(key, fn, args)``: ``key`` a tuple of str / int /
float / bool naming the cell (its identity in the result and in the log), ``fn(*args)`` the computation.  The
engine runs the cells, keys the results by cell and hands them back **in grid order** (the order of the list),
whatever order they finished in.  Three backends, one result:

* in-process (the default: no option), cells run one after the other in this process;
* ``workers=N`` (N >= 2): a Dask ``LocalCluster`` of N single-threaded worker processes on this machine
  (``workers=1`` is this process: a one-worker cluster would only add its start-up to the same result);
* ``scheduler="tcp://HOST:PORT"``: a running Dask cluster (``dask scheduler`` + ``dask worker ADDRESS``).

**Same bits everywhere.**  A cell's randomness must come from its arguments alone, never from the worker that runs
it or the order: :func:`cell_seed` gives ``SeedSequence(seed, spawn_key=words(key))`` for that (the statements'
checks use :func:`verify.numerics.montecarlo.stream`, the same construction keyed by (statement, check)).  A lost worker
costs a rerun of its cells (``Client.submit(..., retries=2, pure=False)``; the scheduler also reschedules the
cells of a worker that died), not a different result.

**Resumable.**  ``log=PATH`` appends one JSON line per finished cell as it arrives (``{"cell": [key...], ...}``,
flushed at once), and a rerun over the same cells skips those already logged, so an interrupted sweep (Ctrl-C, a
lost machine) resumes where it stopped; a line cut by the interruption is ignored.  ``encode(result) -> dict``
and ``decode(dict) -> result`` make a result JSON (default: ``{"value": result}`` for JSON-ready results).  The
key must say everything the result depends on (seed, grid): cells with another key are never reused.

dask and distributed are an optional extra: ``pip install -e '.[distributed]'``; without them ``workers`` /
``scheduler`` raise a one-line ValueError saying so (the CLI exits 2).

Example (in-process; ``workers=2`` or ``scheduler=ADDRESS`` give the same dict):

>>> import numpy as np
>>> def mean_of_draws(seed, sigma, n):  # a cell: its randomness from (seed, its key) only
...     rng = np.random.default_rng(cell_seed(seed, ("mean", sigma, n)))
...     return float(rng.normal(0.0, sigma, n).mean())
>>> cells = [Cell(("mean", s, n), mean_of_draws, (7, s, n)) for s in (1.0, 2.0) for n in (10, 1000)]
>>> out = run_sweep(cells)
>>> list(out) == [c.key for c in cells]
True
>>> out == run_sweep(list(reversed(cells)))  # order never changes a result
True
>>> round(out[("mean", 1.0, 1000)], 3)
-0.029

``verify train`` would build its cells the same way: one ``Cell(("train", seed, case, alpha), run_case,
(seed, case, alpha))`` per grid point, ``run_sweep(cells, workers=args.workers, scheduler=args.scheduler,
log=args.log, encode=..., decode=...)``, then read the results by key in grid order.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

__all__ = ["Cell", "cell_seed", "run_sweep", "Backend", "read_log", "INSTALL_HINT"]

INSTALL_HINT = "pip install -e '.[distributed]'"
RETRIES = 2


@dataclass(frozen=True)
class Cell:
    """One independent cell of a grid: ``fn(*args)`` is its result, ``key`` its name (JSON scalars only)."""

    key: tuple
    fn: Callable
    args: tuple = ()


def _check_key(key) -> tuple:
    if not isinstance(key, tuple) or not key:
        raise TypeError(f"cell key: expected a non-empty tuple, got {key!r}")
    for k in key:
        if not isinstance(k, (str, int, float, bool)) or isinstance(k, np.generic):
            raise TypeError(f"cell key: expected str/int/float/bool items, got {k!r} in {key!r}")
        if isinstance(k, float) and not math.isfinite(k):
            raise ValueError(f"cell key: expected finite floats, got {k!r} in {key!r}")
    return key


def _word(k) -> int:
    if isinstance(k, bool):
        return zlib.crc32(f"b:{k}".encode())
    if isinstance(k, int) and 0 <= k < 2**32:
        return k
    return zlib.crc32(f"{type(k).__name__}:{k!r}".encode())


def cell_seed(seed: int, key: tuple) -> np.random.SeedSequence:
    """``SeedSequence(seed, spawn_key=words(key))``: small non-negative ints are their own word, anything else its
    CRC-32 (typed), so the stream depends on (seed, key) alone.

    >>> a = np.random.default_rng(cell_seed(3, ("mc", 1.0, 10))).integers(0, 100, 3)
    >>> b = np.random.default_rng(cell_seed(3, ("mc", 1.0, 10))).integers(0, 100, 3)
    >>> bool((a == b).all()), bool((a == np.random.default_rng(cell_seed(4, ("mc", 1.0, 10))).integers(0, 100, 3)).all())
    (True, False)
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    return np.random.SeedSequence(int(seed), spawn_key=tuple(_word(k) for k in _check_key(tuple(key))))


def _dask(what: str):
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ValueError(f"{what}: the Dask backend needs dask and distributed, which are not installed: "
                         f"{INSTALL_HINT}") from None
    return Client, LocalCluster, as_completed


def _positive_int(value, name):
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")


class Backend:
    """Where cells run: in-process (no arguments), a LocalCluster of ``workers`` processes, or the Dask cluster at
    ``scheduler``.  The cluster starts at the first cell to run (a fully logged sweep starts nothing) and lives
    until :meth:`close` (a ``with`` block), so several phases of one sweep share it."""

    def __init__(self, workers: int | None = None, scheduler: str | None = None, retries: int = RETRIES):
        _positive_int(workers, "workers")
        if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
            raise ValueError(f"scheduler: expected an address such as 'tcp://127.0.0.1:8786', got {scheduler!r}")
        if workers is not None and scheduler is not None:
            raise ValueError("workers/scheduler: give one of them (a LocalCluster of N workers, or a running cluster)")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries: expected a non-negative integer, got {retries!r}")
        self.workers, self.scheduler, self.retries = workers, scheduler, retries
        # one worker is this process: a one-worker cluster would only add its start-up (~10 s) to the same bits
        self.distributed = (workers is not None and workers > 1) or scheduler is not None
        if self.distributed:  # fail early (before any computation) when dask is missing
            _dask("--scheduler" if scheduler is not None else "--workers")
        self._client = self._cluster = None

    @property
    def name(self) -> str:
        if self.scheduler is not None:
            return f"dask scheduler {self.scheduler}"
        return f"dask LocalCluster ({self.workers} workers)" if self.distributed else "in-process"

    def _connect(self):
        if self._client is None:
            Client, LocalCluster, _ = _dask("--scheduler" if self.scheduler is not None else "--workers")
            if self.scheduler is not None:
                try:
                    self._client = Client(self.scheduler, timeout=30)
                except (OSError, TimeoutError) as exc:
                    raise ValueError(f"scheduler: cannot reach {self.scheduler!r} ({exc})") from None
            else:
                self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                             dashboard_address=":0", silence_logs=logging.ERROR)
                self._client = Client(self._cluster)
        return self._client

    def imap(self, cells: list[Cell]) -> Iterator[tuple[tuple, Any]]:
        """(key, result) of every cell, in completion order; cells are submitted in list order."""
        if not self.distributed:
            for c in cells:
                yield c.key, c.fn(*c.args)
            return
        if not cells:
            return
        client = self._connect()
        _, _, as_completed = _dask("workers")
        tag = uuid.uuid4().hex[:12]
        futures = [client.submit(c.fn, *c.args, key=f"cell-{tag}-{i}", retries=self.retries, pure=False)
                   for i, c in enumerate(cells)]
        by_key = {f.key: c.key for f, c in zip(futures, cells)}
        try:
            for fut in as_completed(futures):
                yield by_key[fut.key], fut.result()
        finally:
            client.cancel([f for f in futures if not f.done()])

    def close(self):
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _default_encode(result) -> dict:
    return {"value": result}


def _default_decode(d: dict):
    return d["value"]


def read_log(path, decode: Callable[[dict], Any] = _default_decode) -> dict:
    """{key: result} of the cells logged in ``path`` (a missing file is an empty log; a cut line is skipped)."""
    out = {}
    p = Path(path)
    if not p.exists():
        return out
    for line in p.read_text().splitlines():
        try:
            d = json.loads(line)
        except json.JSONDecodeError:  # a line cut by an interruption
            continue
        if not isinstance(d, dict) or "cell" not in d:
            continue
        key = tuple(d.pop("cell"))
        out[key] = decode(d)
    return out


def run_sweep(cells: Iterable[Cell], *, workers: int | None = None, scheduler: str | None = None,
              backend: Backend | None = None, log=None, progress: Callable[[int, int, tuple], None] | None = None,
              encode: Callable[[Any], dict] = _default_encode, decode: Callable[[dict], Any] = _default_decode,
              retries: int = RETRIES) -> dict:
    """{cell key: result} in the order of ``cells``.

    Cells are submitted in list order (put the expensive ones first); the backend is ``backend`` or the one
    ``workers`` / ``scheduler`` name (in-process when neither).  ``log``: cells already in the file are not run
    again, and every finished cell is appended as one JSON line as it arrives.  ``progress(done, total, key)`` is
    called after each finished cell (``done`` counts the logged ones too)."""
    cells = list(cells)
    keys = set()
    for c in cells:
        if not isinstance(c, Cell):
            raise TypeError(f"cells: expected Cell items, got {type(c).__name__}")
        if _check_key(c.key) in keys:
            raise ValueError(f"cells: duplicate key {c.key!r}")
        keys.add(c.key)
    if backend is not None and (workers is not None or scheduler is not None):
        raise ValueError("backend: give a Backend or workers/scheduler, not both")
    own = backend is None
    backend = Backend(workers, scheduler, retries) if own else backend
    results = {}
    if log is not None:
        known = read_log(log, decode)
        results = {c.key: known[c.key] for c in cells if c.key in known}
    todo = [c for c in cells if c.key not in results]
    sink = None
    if log is not None and todo:
        cut = Path(log).exists() and Path(log).stat().st_size and not Path(log).read_bytes().endswith(b"\n")
        sink = open(log, "a")
        if cut:  # the previous run was interrupted mid-line: start on a fresh line
            sink.write("\n")
    try:
        for key, value in backend.imap(todo):
            results[key] = value
            if sink is not None:
                sink.write(json.dumps({"cell": list(key), **encode(value)}) + "\n")  # one write: a whole line
                sink.flush()
            if progress:
                progress(len(results), len(cells), key)
    finally:
        if sink is not None:
            sink.close()
        if own:
            backend.close()
    return {c.key: results[c.key] for c in cells}
