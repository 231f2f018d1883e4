"""Targets: figure names, run folders and folders of run folders, resolved into groups of runs."""
import os

from .. import experiments as ex
from .common import DEFAULT_ROOT, RUN_META, SweepError, natural_key
from .folders import Run, find_params


def figure_name(name):
    """Canonical figure name (case-insensitive; the published folder names work too) or None."""
    low = name.lower().rstrip("/")
    for key, fig in ex.FIGURES.items():
        if low == key.lower() or low in (r.lower() for r in fig.roots) and not fig.alias_of:
            return key
    return None


class Group:
    """Runs that belong together: a figure (home = ROOT/sweeps/FIG) or a set of folders."""

    def __init__(self, name, runs, home, figure=None):
        self.name, self.runs, self.home, self.figure = name, runs, home, figure


def _figure_group(name, root):
    runs = [Run(os.path.join(root, spec.path), label=spec.path, figure=name) for spec in ex.FIGURES[name].runs()]
    return Group(name, runs, os.path.join(root, "sweeps", name), figure=name)


def _folder_group(loose):
    seen, runs = set(), []
    for r in loose:
        if r.dir not in seen:
            seen.add(r.dir)
            runs.append(r)
    common = os.path.commonpath([r.dir for r in runs])
    home = os.path.dirname(common) if len(runs) == 1 else common
    for r in runs:
        r.label = os.path.relpath(r.dir, home)
    return Group(os.path.basename(home) or "runs", runs, home)


def resolve(targets, root=DEFAULT_ROOT):
    """One group per figure named in `targets`, plus one for all the run folders named or found."""
    groups, loose = [], []
    for t in targets:
        if t.lower() == "all":
            names = [k for k, f in ex.FIGURES.items() if not f.alias_of]
        elif figure_name(t) and not os.path.isdir(t):
            names = [figure_name(t)]
        elif os.path.isdir(t):
            loose.extend(discover(t))
            continue
        else:
            known = ", ".join(ex.FIGURES)
            raise SweepError(f"{t}: not a figure ({known}, all) nor a run folder")
        groups.extend(_figure_group(name, root) for name in names)
    if loose:
        groups.append(_folder_group(loose))
    return groups


def discover(d):
    """The run folders in `d` (or `d` itself): folders with a params*.json or a run.json."""
    if find_params(d) or os.path.exists(os.path.join(d, RUN_META)):
        return [Run(d)]
    found = []
    for dirpath, dirnames, _ in os.walk(d):
        dirnames[:] = sorted((x for x in dirnames if not x.startswith(".") and x != "sweeps"), key=natural_key)
        if dirpath != d and (find_params(dirpath) or os.path.exists(os.path.join(dirpath, RUN_META))):
            found.append(dirpath)
            dirnames[:] = []
    if not found:
        raise SweepError(f"{d}: no run folders (folders with a params*.json) in it")
    return [Run(p) for p in sorted(found, key=natural_key)]
