"""One writer per output: a lock beside every directory or file rvtune writes.

``hold(path, "rvtune run")`` takes ``.<name>.lock`` in ``path``'s parent (inside ``path``
when the parent cannot take it, e.g. a read-only parent of a mounted volume). The lock is an
``flock`` on that file, so the kernel drops it when its holder dies, however it dies: a lock
left by a killed process is simply taken over. The file records who holds it (pid, command,
since when) so a second writer is refused with a line that names the holder.
"""

import errno
import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import BusyError

SUFFIX = ".lock"


def lock_path(target) -> Path:
    """The lock file that guards ``target``."""
    target = Path(target)
    return target.parent / f".{target.name}{SUFFIX}"


def _command() -> str:
    argv = [Path(sys.argv[0]).name] + sys.argv[1:] if sys.argv else ["python"]
    text = " ".join(argv)
    return text if len(text) <= 120 else text[:117] + "..."


def _holder(fd) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        info = json.loads(os.read(fd, 4096).decode("utf-8") or "{}")
        if not info:
            return "another process that is just starting"
        return (f"process {info.get('pid', '?')} ({info.get('command', '?')}), "
                f"since {info.get('since', '?')}")
    except (OSError, ValueError):
        return "another process"


def _try_flock(fd) -> bool:
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise


def _acquire(path: Path, target: Path, option: str):
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if not _try_flock(fd):
                raise BusyError(
                    f"{option}{target}: in use by {_holder(fd)}; wait for it to finish or "
                    f"write somewhere else (a lock held by a dead process is taken over)")
            # The file we locked may have been unlinked by a holder that just released it.
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        except BaseException:
            os.close(fd)
            raise
        if same:
            return fd
        os.close(fd)


@contextmanager
def hold(target, option: str = ""):
    """Hold the write lock of ``target`` for the block; ``option`` (e.g. ``"--out "``) starts
    the refusal message. Re-entrant within one process for the same target."""
    target = Path(target).expanduser().absolute()
    if str(target) in _held:
        yield
        return
    made = [d for d in [target.parent, *target.parent.parents] if not d.exists()]
    target.parent.mkdir(parents=True, exist_ok=True)
    # One lock whatever the spelling: runs/latest and runs/NAME are the same run.
    real = target.resolve() if target.exists() else target.parent.resolve() / target.name
    path = lock_path(real)
    try:
        fd = _acquire(path, target, option)
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        if not target.is_dir():
            exc.filename = str(target.parent)  # the directory that cannot be written
            raise
        path = target / f".rvtune{SUFFIX}"  # the parent is not ours to write: lock inside
        fd = _acquire(path, target, option)
    info = {"pid": os.getpid(), "command": _command(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S")}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(info).encode("utf-8"), 0)
    _held.add(str(target))
    try:
        yield
    except OSError as exc:
        # A failed write() or flush() names no file: it happened while writing ``target``.
        if exc.filename is None and exc.errno is not None:
            exc.filename = str(target)
        raise
    finally:
        _held.discard(str(target))
        try:
            os.unlink(path)
        except OSError:
            pass
        os.close(fd)
        for directory in made:  # deepest first; a failed write leaves no empty folders
            try:
                directory.rmdir()
            except OSError:
                break


_held: set = set()
