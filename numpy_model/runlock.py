"""One runner per run folder: an exclusive lock on DIR/run.lock for as long as the runner lives.

The lock is an OS lock (``fcntl.flock``) on the file ``run.lock`` in the folder of the params file,
so the kernel releases it when the process ends, however it ends (SIGKILL, out of memory): a lock
is never left behind. The file holds the holder's pid, host and start time (for the refusal
message and for ``holder``); it is removed when the lock is released normally, and a file left by a
killed runner is simply taken over by the next one.

    with RunLock(run_dir):          # or: lock = RunLock(run_dir); lock.acquire() ... lock.release()
        ...                         # raises RunBusy if another process holds it

``holder(run_dir)`` tells whether a folder is in use (what the sweep uses to tell that a run is
alive), without taking the lock and without writing anything.
"""
import datetime
import errno
import fcntl
import json
import os
import socket
import time

LOCK_FILE = "run.lock"
_RETRY_S = 1.0     # how long a refused acquire keeps trying (a `holder` probe takes the lock shared
                   # for a few microseconds; a real holder keeps it for the whole run)


class RunBusy(Exception):
    """The folder is in use by another runner; str() is the one-line message."""

    def __init__(self, run_dir, info):
        self.run_dir, self.info = run_dir, info or {}
        super().__init__(busy_message(run_dir, self.info))


def describe(info):
    """'pid 1234, started 2026-12-03 14:05:11' (with ' on HOST' after the pid if it is another host)."""
    host = info.get("host")
    where = f" on {host}" if host and host != socket.gethostname() else ""
    return f"pid {info.get('pid', 'unknown')}{where}, started {info.get('started', 'unknown')}"


def busy_message(run_dir, info):
    return f"{run_dir} is in use by another runner ({describe(info)}); wait for it or stop it"


def _read_info(fd):
    """The holder's record (a dict, empty if it is not written yet or unreadable)."""
    for _ in range(20):
        try:
            data = os.pread(fd, 4096, 0)
            info = json.loads(data.decode("utf-8")) if data else None
            if isinstance(info, dict):
                return info
        except (OSError, ValueError):
            pass
        time.sleep(0.01)
    return {}


def _same_file(fd, path):
    """Is the open `fd` still the file at `path` (not a released one that was removed)?"""
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


class RunLock:
    """The exclusive lock of one run folder (see the module doc)."""

    def __init__(self, run_dir):
        self.run_dir = os.path.abspath(run_dir)
        self.path = os.path.join(self.run_dir, LOCK_FILE)
        self.fd = None
        self.owner = None          # pid that took the lock (a forked child never releases it)

    def _try_once(self):
        """True: locked; False: held by another process; None: the file was replaced, try again."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                os.close(fd)
                raise
            self._busy_info = _read_info(fd)
            os.close(fd)
            return False
        if not _same_file(fd, self.path):
            os.close(fd)
            return None
        self.fd, self.owner = fd, os.getpid()
        return True

    def acquire(self):
        """Take the lock and write the holder's record; raises RunBusy if another process holds it."""
        deadline = time.monotonic() + _RETRY_S
        while True:
            got = self._try_once()
            if got:
                break
            if got is False and time.monotonic() > deadline:
                raise RunBusy(self.run_dir, self._busy_info)
            time.sleep(0.02)
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "started": datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")}
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, (json.dumps(info) + "\n").encode("utf-8"), 0)
        return self

    def release(self):
        if self.fd is None or self.owner != os.getpid():
            return          # not held, or a forked child (its copy of the fd shares the parent's lock)
        fd, self.fd = self.fd, None
        try:
            if _same_file(fd, self.path):
                os.unlink(self.path)          # while still locked: no one else can have it
        except OSError:
            pass
        finally:
            os.close(fd)                      # releases the lock

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()

    def __del__(self):
        self.release()


def for_runner(run_dir, warn=None):
    """What runner.py calls: (the taken RunLock, None), or (None, the one-line message) if another
    runner holds the folder. (None, None) if the folder does not exist (the runner then fails on its
    params file) or cannot hold a lock (e.g. a file system without flock: the run goes on, with a
    warning)."""
    if not os.path.isdir(run_dir):
        return None, None
    lock = RunLock(run_dir)
    try:
        return lock.acquire(), None
    except RunBusy as exc:
        return None, str(exc)
    except OSError as exc:
        if warn is not None:
            warn(f"no run lock in {run_dir} ({exc}); nothing stops a second runner on this folder")
        return None, None


def holder(run_dir):
    """The record of the runner holding run_dir's lock ({"pid", "host", "started"}; {} if it has not
    written it yet), or None if no runner holds it. Takes no lock for longer than a probe and
    creates nothing."""
    try:
        fd = os.open(os.path.join(run_dir, LOCK_FILE), os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return _read_info(fd)
            return None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
