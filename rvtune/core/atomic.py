"""Write files so that a crash never leaves a half-written output behind."""

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process: alive
    return True


def _old_of(target: Path) -> Path:
    # The pid tells a copy set aside by a live writer (mid-swap) from a killed one's.
    return target.with_name(f".{target.name}.{os.getpid()}.old")


def _pid_of(leftover: Path, target: Path) -> int | None:
    pid = leftover.name[len(target.name) + 2:].split(".", 1)[0]
    return int(pid) if pid.isdigit() else None


def recover(target) -> None:
    """Undo what a write killed part-way left beside ``target``: put the previous copy back
    when the kill came between the two renames of a replacement (or drop it when the new
    copy made it), and remove temporaries whose process is gone."""
    target = Path(target)
    if not target.parent.is_dir():
        return
    for suffix in ("old", "tmp"):
        for leftover in target.parent.glob(f".{glob_escape(target.name)}.*.{suffix}"):
            pid = _pid_of(leftover, target)
            if pid is None or _alive(pid):
                continue
            if suffix == "old" and not (target.exists() or target.is_symlink()):
                os.replace(leftover, target)  # killed between the renames: put it back
            else:
                _remove(leftover)


def glob_escape(name: str) -> str:
    import glob

    return glob.escape(name)


@contextmanager
def atomic_path(target, suffix: str = ""):
    """Yield a temporary path beside ``target``; on success it replaces ``target``.

    Works for files and directories. On error the temporary is removed and ``target``
    keeps its previous content. A directory is replaced in two renames (old copy aside,
    new copy in); a kill between them is undone by :func:`recover`, which every later
    write of the same target runs first, so the old copy is never lost.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=suffix + ".tmp",
                               dir=target.parent)
    os.close(fd)
    os.unlink(tmp)
    tmp = Path(tmp)
    try:
        yield tmp
        if tmp.is_dir() and target.exists():
            old = _old_of(target)
            _remove(old)
            _replace(target, old, target)
            _kill_point("atomic-between-renames")
            try:
                _replace(tmp, target, target)
            except BaseException:
                os.replace(old, target)  # the old copy goes back at once
                raise
            _remove(old)
        else:
            _kill_point("atomic-before-replace")
            _replace(tmp, target, target)
    finally:
        if tmp.exists() or tmp.is_symlink():
            _remove(tmp)


def _replace(src: Path, dst: Path, target: Path) -> None:
    import errno

    try:
        os.replace(src, dst)
    except OSError as exc:
        if exc.errno in (errno.EXDEV, errno.EBUSY):
            from .errors import RvtuneError

            raise RvtuneError(f"{target}: cannot be replaced by a rename "
                              f"({os.strerror(exc.errno)}; is it a mount point?); write to a "
                              "path inside it instead") from None
        raise


def _kill_point(name: str) -> None:
    """Tests set RVTUNE_TEST_KILL_AT=name to die here, as a kill -9 would."""
    if os.environ.get("RVTUNE_TEST_KILL_AT") == name:
        os.kill(os.getpid(), 9)


@contextmanager
def atomic_open(target, mode: str = "w", **kwargs):
    """``open()`` a temporary file that replaces ``target`` when the block succeeds."""
    with atomic_path(target) as tmp:
        with open(tmp, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())


def write_json(target, data) -> None:
    """Atomically write ``data`` as indented JSON."""
    with atomic_open(target, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=False)
        fh.write("\n")
