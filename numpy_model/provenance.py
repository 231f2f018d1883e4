"""Provenance of a result: which code, which environment, which params, which command, when.

:func:`record` returns a flat JSON-able dict; the command line attaches it after the simulation to
every saved network (``Network.provenance`` in model.pkl) and to ``results.npz``'s ``meta`` (same key
names at the top level of meta). Keys:

==================  ===================================================================================
``version``         ``numpy_model.__version__`` (single-sourced: pyproject.toml reads it from
                    ``numpy_model/__init__.py``)
``git_commit``      commit of the checkout the code runs from, and ``git_dirty`` (uncommitted changes
``git_dirty``       to tracked files); both ``None`` outside a git checkout or without git
``python``          Python, NumPy and SciPy versions (``scipy`` is ``None`` if it is not installed)
``numpy``, ``scipy``
``backend``         what ran the time loop: ``"numpy"`` or ``"numba"`` (``"numba (teacher numpy)"``
                    when the teacher's model has no compiled kernel); ``"numpy"`` where unknown
``blas_threads``    BLAS threads (threadpoolctl if installed, else OMP/OPENBLAS/MKL_NUM_THREADS,
                    else ``None``)
``host``            host name
``command``         the full command line, as one shell-quoted string
``params_hash``     sha256 of the canonical params JSON (:func:`params_hash`)
``start_time``      ISO 8601 local times with offset (``end_time`` ``None`` while a run is going)
``end_time``
``run_id``          a random identifier of this run (tells two runs of the same params apart)
==================  ===================================================================================
"""
import datetime
import hashlib
import json
import os
import platform
import shlex
import socket
import subprocess
import sys
import uuid

__all__ = ["KEYS", "attach", "blas_threads", "canonical_params_json", "csv_fields", "git_info", "now",
           "of_models", "package_version", "params_hash", "record"]

BACKEND = "numpy"
KEYS = ("version", "git_commit", "git_dirty", "python", "numpy", "scipy", "backend", "blas_threads",
        "host", "command", "params_hash", "start_time", "end_time", "run_id")
_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def package_version():
    from . import __version__
    return __version__


def now():
    """Local time, ISO 8601 with the UTC offset, to the second."""
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def canonical_params_json(params):
    """The params as canonical JSON: sorted keys, no ``_comment*`` keys, no whitespace."""
    body = {k: v for k, v in dict(params).items() if not str(k).startswith("_comment")}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=_plain)


def params_hash(params):
    """sha256 (hex) of :func:`canonical_params_json`. Use the validated params (every key present),
    as the saved networks hold them (``Network.params``), so a run and its params file agree."""
    return hashlib.sha256(canonical_params_json(params).encode("utf-8")).hexdigest()


def _plain(v):
    tolist = getattr(v, "tolist", None)       # numpy arrays and scalars
    if tolist is not None:
        return tolist()
    return repr(v)


def git_info(path=_REPO):
    """``{"git_commit": sha or None, "git_dirty": bool or None}`` of the checkout holding ``path``."""
    def git(*args):
        return subprocess.run(["git", "-C", path, *args], capture_output=True, text=True, timeout=10,
                              check=True).stdout.strip()
    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None, "git_dirty": None}
    return {"git_commit": commit or None, "git_dirty": dirty if commit else None}


def blas_threads():
    """BLAS thread count: threadpoolctl when installed, else the usual environment variables."""
    try:
        from threadpoolctl import threadpool_info
        counts = [int(p["num_threads"]) for p in threadpool_info() if p.get("user_api") == "blas"]
        if counts:
            return max(counts)
    except Exception:  # noqa: BLE001 - optional and best effort
        pass
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        value = os.environ.get(var, "")
        if value.strip().isdigit():
            return int(value)
    return None


def _versions():
    import numpy
    try:
        import scipy
        scipy_version = scipy.__version__
    except ImportError:
        scipy_version = None
    return {"python": platform.python_version(), "numpy": numpy.__version__, "scipy": scipy_version}


def record(params=None, command=None, start_time=None, end_time=None, run_id=None, params_path=None,
           backend=None):
    """The provenance dict (keys :data:`KEYS`). ``params``: the validated params dict (or
    ``params_path``: a params file, hashed after validation); ``command``: a list of arguments or a
    string (default ``sys.argv`` as run); ``start_time`` default now; ``end_time`` as given."""
    if params is None and params_path is not None:
        from .params import ParamsError, load_params
        try:
            params = load_params(params_path, warn=lambda msg: None)
        except ParamsError:
            params = None            # an invalid file has no canonical form: params_hash None
    if command is None:
        command = [sys.executable, *sys.argv]
    if not isinstance(command, str):
        command = " ".join(shlex.quote(str(c)) for c in command)
    out = {"version": package_version(), **git_info(), **_versions(), "backend": backend or BACKEND,
           "blas_threads": blas_threads(), "host": socket.gethostname(), "command": command,
           "params_hash": params_hash(params) if params is not None else None,
           "start_time": start_time or now(), "end_time": end_time,
           "run_id": run_id or uuid.uuid4().hex}
    return {k: out[k] for k in KEYS}


def attach(models, prov):
    """Set ``provenance`` (a copy of ``prov``) on every network; returns ``models``."""
    for m in models:
        m.provenance = dict(prov)
    return models


def of_models(models):
    """The provenance of a list of saved networks (that of the first one carrying it), or None."""
    for m in models:
        prov = getattr(m, "provenance", None)
        if isinstance(prov, dict):
            return prov
    return None


def csv_fields(model):
    """``{"version": ..., "params_hash": ...}`` of one saved network, for a metrics CSV row (empty
    strings for networks saved before provenance existed)."""
    prov = getattr(model, "provenance", None) or {}
    return {"version": prov.get("version") or "", "params_hash": prov.get("params_hash") or ""}
