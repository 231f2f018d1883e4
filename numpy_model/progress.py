"""Progress of a whole run (phase, epoch i/N, seeds, elapsed, ETA) on stderr.

The protocol calls ``report(phase=..., epoch=..., epochs=...)`` at phase boundaries and after every
epoch (``numpy_model.protocol.run_students``). :func:`make_progress` returns such a callable:

* on a terminal (``stream.isatty()``): one progress bar line, redrawn in place with ``'\\r'`` and
  finished with a newline when the run is done (or when anything else is written to ``sys.stderr``
  while the bar is open, so warnings and error messages start on their own line);
* otherwise (CI, Slurm logs, sweep ``run.log``): plain one-line log messages, no control characters,
  at phase changes, when another 10 % of the epochs is done, or when ``interval`` seconds have passed
  since the last message, whichever comes first. Their format ends in ``<phase>: epoch i/N``, which the
  sweep status table (``numpy_model.sweep``) parses;
* ``quiet``: ``None`` (the protocol then reports nothing).

The ETA is the time per epoch so far (measured from the first report: the start of the students'
settling, or the first epoch after a resume) times the epochs left.
"""
import os
import sys
import time

__all__ = ["Progress", "make_progress", "format_duration"]


def format_duration(seconds):
    """``h:mm:ss`` (``?`` when unknown)."""
    if seconds is None or not 0 <= seconds < 1e9:       # unknown, NaN, negative or absurd
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class _StderrGuard:
    """Stands in for ``sys.stderr`` while a bar line is open: any other write first ends that line."""

    def __init__(self, progress, stream):
        self._progress, self._stream = progress, stream

    def write(self, text):
        if text:
            self._progress.end_line()
        return self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


class Progress:
    """Callable progress reporter; see the module docstring. ``clock`` is injectable for tests."""

    def __init__(self, stream=None, seeds=None, tty=None, interval=10.0, clock=time.monotonic):
        self.stream = sys.stderr if stream is None else stream
        if tty is None:
            try:
                tty = self.stream.isatty()
            except (AttributeError, ValueError):
                tty = False
        self.tty, self.seeds, self.interval, self.clock = bool(tty), seeds, float(interval), clock
        self.start = clock()
        self.first = None           # (time, epoch) of the first report: the students' start, or a resume
        self.phase = None
        self.last_out = None        # time of the last line written (log) or redraw (bar)
        self.last_frac = 0.0        # fraction of epochs done at the last log line
        self.open_len = 0           # length of the bar line currently open (0: no open line)
        self._guard = None

    # -- common ------------------------------------------------------------------------------
    def _eta(self, now, epoch, epochs):
        if epoch >= epochs:
            return 0.0
        t0, e0 = self.first
        if epoch <= e0:
            return None
        return (now - t0) / (epoch - e0) * (epochs - epoch)

    def __call__(self, phase, epoch, epochs, **_):
        now = self.clock()
        if self.first is None:
            self.first = (now, epoch)     # a resumed run starts reporting after its checkpoint's epoch
        changed, self.phase = phase != self.phase, phase
        frac = epoch / epochs if epochs > 0 else 1.0
        eta = self._eta(now, epoch, epochs)
        seeds = "" if self.seeds is None else f"{self.seeds} seed{'s' if self.seeds != 1 else ''}"
        if self.tty:
            self._bar(now, phase, epoch, epochs, frac, eta, seeds, changed)
        else:
            self._log(now, phase, epoch, epochs, frac, eta, seeds, changed)

    # -- log lines (not a terminal) ---------------------------------------------------------
    def _log(self, now, phase, epoch, epochs, frac, eta, seeds, changed):
        due = (changed or epoch >= epochs or frac >= self.last_frac + 0.1 - 1e-12
               or self.last_out is None or now - self.last_out >= self.interval)
        if not due:
            return
        self.last_out, self.last_frac = now, frac
        info = [seeds] if seeds else []
        if phase == "training" or epoch > 0:
            info.append(f"{100 * frac:.0f} %")
        if 0 < epoch < epochs:
            info.append(f"ETA {format_duration(eta)}")
        head = ", ".join(info) + " | " if info else ""
        self.stream.write(f"[{now - self.start:7.1f}s] {head}{phase}: epoch {epoch}/{epochs}\n")
        self.stream.flush()

    # -- progress bar (terminal) ------------------------------------------------------------
    def _bar(self, now, phase, epoch, epochs, frac, eta, seeds, changed):
        final = phase not in ("settling", "training")   # testing / comparing: nothing follows on this line
        if not (changed or final or self.last_out is None or now - self.last_out >= 0.1):
            return                  # at most ~10 redraws per second
        self.last_out = now
        head = f"{phase:<8} {epoch}/{epochs} epochs"
        tail = " | ".join(([seeds] if seeds else [])
                          + [f"elapsed {format_duration(now - self.start)}", f"ETA {format_duration(eta)}"])
        cols = _columns(self.stream) - 1                  # never wrap the line: '\r' must reach its start
        room = len(seeds) + 3 * bool(seeds) + len("elapsed 0:00:00 | ETA 0:00:00")   # steady bar width
        width = min(30, cols - len(head) - max(room, len(tail)) - 6)
        bar = ""
        if width >= 5:
            fill = int(width * min(max(frac, 0.0), 1.0))
            bar = f" [{'#' * fill}{'.' * (width - fill)}]"
        line = f"{head}{bar} | {tail}"[:max(cols, 10)]
        self.stream.write("\r" + line + " " * max(0, self.open_len - len(line)))
        self.open_len = max(len(line), 1)
        if final:
            self.end_line()
        else:
            self.stream.flush()
            self._install_guard()

    def end_line(self):
        """Finish the open bar line (if any) with a newline."""
        if self.open_len:
            self.open_len = 0
            self._remove_guard()
            self.stream.write("\n")
            self.stream.flush()

    close = end_line

    def _install_guard(self):
        if self._guard is None and sys.stderr is self.stream:
            self._guard = sys.stderr = _StderrGuard(self, self.stream)

    def _remove_guard(self):
        if self._guard is not None:
            if sys.stderr is self._guard:
                sys.stderr = self.stream
            self._guard = None


def _columns(stream):
    try:
        cols = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        cols = 0
    return cols if cols > 0 else 80


def make_progress(quiet=False, seeds=None, stream=None, **kw):
    """The protocol's ``progress`` callback: ``None`` when quiet, else a :class:`Progress`."""
    if quiet:
        return None
    return Progress(stream=stream, seeds=seeds, **kw)
