"""Checkpoints of a run next to its params file and the identity a checkpoint resumes under
(README, "Long runs": nothing is lost on a crash or a signal)."""
import hashlib
import json
import os
import time

from .io import atomic_write, dump, load, remove_stale_temps
from .models import compiled


class Preempted(Exception):
    """Raised after a checkpoint was written because SIGTERM/SIGINT asked the run to stop."""


class Checkpointer:
    """Checkpoints of a run next to its params file (not part of the model: long runs).

    Every `checkpoint_every` epochs (0: every 10 minutes of wall time) and when a stop was
    requested (signal), the complete state (teacher output, students' ensemble with every random
    generator, recorded series, protocol position) is written atomically to checkpoint.pkl; the
    previous one is kept as checkpoint.prev.pkl. A run started with the same params resumes
    from it and gives the same numbers as an uninterrupted run."""

    NAME, PREV = "checkpoint.pkl", "checkpoint.prev.pkl"

    def __init__(self, directory, P, task, compare, every=None):
        self.dir = directory
        self.key = run_key(P, task, compare)
        self.every = P.get("checkpoint_every", 0) if every is None else every
        self.last = time.time()
        self.stop_requested = False
        self.head = None       # teacher part, set before the students run

    @property
    def path(self):
        return os.path.join(self.dir, self.NAME)

    def due(self, run):
        if self.stop_requested:
            return True
        if self.every > 0:
            return run.next_epoch % self.every == 0
        return time.time() - self.last >= 600

    def __call__(self, run):
        if run.next_epoch >= run.P["epochs"] and not self.stop_requested:
            return               # the run is about to finish: nothing to resume
        if self.due(run):
            self.write(run)
        if self.stop_requested:
            raise Preempted(f"stopped by a signal after epoch {run.next_epoch}; checkpoint written to "
                            f"{self.path}; run the same command again to resume")

    def write(self, run):
        blob = {"version": 1, "key": self.key, "head": self.head, "run": run}

        def keep_previous():
            if os.path.exists(self.path):
                os.replace(self.path, os.path.join(self.dir, self.PREV))
        atomic_write(self.path, lambda fh: dump(blob, fh), before_rename=keep_previous)
        self.last = time.time()

    def load(self):
        """The newest readable checkpoint for this run, or None."""
        for name in (self.NAME, self.PREV):
            path = os.path.join(self.dir, name)
            if not os.path.isfile(path):
                continue
            try:
                with open(path, "rb") as fh:
                    blob = load(fh)
            except Exception:  # noqa: BLE001 - a damaged checkpoint: try the previous one
                continue
            if blob.get("key") == self.key:
                return blob
        return None

    def exists(self):
        return any(os.path.isfile(os.path.join(self.dir, n)) for n in (self.NAME, self.PREV))

    def clear(self):
        """Remove the checkpoints and temporary files a killed write may have left."""
        remove_stale_temps(self.path)
        for path in [os.path.join(self.dir, n) for n in (self.NAME, self.PREV)]:
            if os.path.exists(path):
                os.unlink(path)


def run_key(P, task, compare):
    """Identity of a run for resuming: params (without comments, the backend as resolved here:
    a checkpoint resumes bit-exactly only on the backend that wrote it; not specialize: a
    size-specialised kernel gives the generic one's numbers bit for bit), task and comparison."""
    params = {k: v for k, v in P.items() if not k.startswith("_") and k != "specialize"}
    params["backend"] = compiled.resolve(P.get("backend") or "auto")[0]
    body = json.dumps({"params": params,
                       "task": task, "compare": compare}, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()
