"""The one exception type the CLI turns into a clean one-line message."""

import sys


class RvtuneError(Exception):
    """A problem the user can fix: says what is wrong, where, and how to fix it.

    The CLI prints ``Error: <message>`` and exits with ``exit_code`` (no traceback unless
    ``--debug``). Raise it with a message that names the file/row/field/option at fault.
    """

    exit_code = 1

    def __init__(self, message: str, *, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(RvtuneError):
    """Bad option or argument on the command line or in the config file."""

    exit_code = 2


class DataError(RvtuneError):
    """Bad input data: a row, a field, a file."""


class MissingDependencyError(RvtuneError):
    """An optional tool or package is not installed; the message says how to install it."""


class BusyError(RvtuneError):
    """Another rvtune process is writing the same output; trying again later can work."""

    exit_code = 75  # EX_TEMPFAIL (sysexits.h)


#: Exit codes, documented in docs/errors.md.
EXIT_CODES = {
    0: "success",
    1: "bad input content or environment: a data row, a model or adapter file, a full or "
       "read-only disk, a non-finite loss",
    2: "bad usage: an option, argument or config-file value (including a path that does "
       "not exist)",
    75: "busy: another rvtune process is writing the same output; try again when it ends",
    70: "internal error in rvtune or in a plugin (the message names which); please report it",
    130: "interrupted (Ctrl-C); a run saved a checkpoint and can be resumed",
}

_OS_FIXES = {
    "EROFS": "the filesystem is read-only; write to a writable directory instead",
    "ENOSPC": "the disk is full; free some space or write to another disk (nothing "
              "half-written was kept)",
    "EDQUOT": "the disk quota is used up; free some space or write elsewhere",
    "EACCES": "permission denied; fix the permissions or choose another path",
    "EPERM": "operation not permitted; fix the permissions or choose another path",
    "ENAMETOOLONG": "the file name is too long for this filesystem; choose a shorter path",
    "EXDEV": "cannot move a file across filesystems; write to a directory on the same disk",
    "EISDIR": "is a directory; give a file path",
    "ENOTDIR": "a part of the path is a file, not a directory; fix the path",
    "EEXIST": "already exists and is in the way (a file where a directory is needed?); "
              "remove it or choose another path",
    "EMFILE": "too many open files; raise the limit (ulimit -n)",
    "EBUSY": "the path is busy (a mount point?); write to a directory inside it",
    "ENOENT": "no such file or directory; check the path",
    "ELOOP": "too many symbolic links; fix the path",
    "EIO": "input/output error on the disk; check the device",
}


def environment_error(exc: BaseException) -> RvtuneError | None:
    """A one-line :class:`RvtuneError` for an OS or decoding fault (path and fix), or None
    when ``exc`` is not one."""
    import errno

    if isinstance(exc, UnicodeDecodeError):
        where = getattr(exc, "rvtune_path", None)
        return DataError(f"{where + ': ' if where else ''}not UTF-8 text (byte "
                         f"0x{exc.object[exc.start]:02x} at offset {exc.start}); save the "
                         "file as UTF-8")
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        top = exc.name.split(".")[0]
        return MissingDependencyError(
            f"the Python module '{top}' is not installed for {sys.executable}; install "
            "rvtune's dependencies into this environment (pip install -e . or pip install "
            "rvtune), or run the rvtune of the environment that has them")
    if not isinstance(exc, OSError) or exc.errno is None:
        return None
    name = errno.errorcode.get(exc.errno, "")
    fix = _OS_FIXES.get(name)
    if fix is None:
        return None
    if exc.filename is None:
        return RvtuneError(f"{fix} ({name})")
    path = str(exc.filename)
    if exc.filename2 is not None:
        path = f"{path} -> {exc.filename2}"
    return RvtuneError(f"{path}: {fix} ({name})")
