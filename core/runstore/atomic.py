"""Writing a file so that a crash leaves either the old file or the new one, never half of one."""

from __future__ import annotations

import errno
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

# A write the system refused, by errno: the reason as a user reads it, and what they can do.
_REFUSED = {
    errno.ENOSPC: ("no space left on the disk", "free some space on it"),
    errno.EDQUOT: ("disk quota exceeded", "free some of your quota or ask for a larger one"),
    errno.EFBIG: ("file too large", "raise the file size limit (ulimit -f)"),
    errno.EROFS: ("the file system is read-only", "remount it read-write"),
    errno.EACCES: ("permission denied", "make the folder writable"),
    errno.EPERM: ("permission denied", "make the folder writable"),
    errno.EIO: ("input/output error", "check the disk (the kernel log, dmesg, says more)"),
}


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", **open_kwargs) -> Iterator[IO]:
    """Write to a temporary file beside `path`, fsync it, `os.replace` it in, fsync the folder.

    The temporary file lives in the same folder (so the rename is atomic) and is removed if
    writing fails; the result gets the usual 0o666 & ~umask permissions, not mkstemp's 0o600.
    Past a file size limit (ulimit -f) the write raises EFBIG, so this cleanup runs too: Python
    ignores SIGXFSZ from its start, which would otherwise kill the process mid-write.
    """
    target = Path(path)
    # The pid in the name lets a later reader remove the leftovers of a writer that was killed.
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **open_kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(target.parent)


def os_error_in_words(problem: OSError) -> str:
    """'disk quota exceeded' rather than '[Errno 122] Disk quota exceeded: ...'."""
    if problem.errno in _REFUSED:
        return _REFUSED[problem.errno][0]
    if problem.strerror:
        return problem.strerror[:1].lower() + problem.strerror[1:]
    return " ".join(str(problem).split()) or type(problem).__name__


def write_failure(path: str | os.PathLike, problem: OSError, elsewhere: str = "write it elsewhere") -> str:
    """One line for a person: the file, the reason in words and what to do, `elsewhere` last.

    `cannot write runs/x/checkpoint.pt: file too large; raise the file size limit (ulimit -f)
    or choose another runs folder (--runs-dir)`
    """
    what_to_do = _REFUSED.get(problem.errno, ("", "check the disk"))[1]
    return f"cannot write {path}: {os_error_in_words(problem)}; {what_to_do} or {elsewhere}"


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # some platforms cannot open folders; the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
