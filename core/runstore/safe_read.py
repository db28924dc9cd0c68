"""Reading a file of the runs folder without trusting what it is.

A runs folder on a shared server can hold anything: another user's folder (mode 700), a FIFO
where config.json belongs (a plain `open` of it waits for a writer forever), a socket, a device
(`/dev/zero` never ends), a link out of the folder. Every read of the store goes through here:
it opens without blocking and without following a link, reads only regular files, and reads at
most `limit` bytes, so one bad entry costs a warning, never a hang or a traceback.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


class UnsafeFile(OSError):
    """Not a regular file, too large, or unreadable; `str()` says which, in words."""


_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a device", stat.S_IFBLK: "a device", stat.S_IFDIR: "a folder"}


def open_regular(path: str | os.PathLike) -> int:
    """A read-only descriptor of `path` if it is a regular file (never blocks, never follows a link).

    Raises UnsafeFile (an OSError) saying what the path is instead, or why it cannot be opened.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as problem:
        if problem.errno == errno.ELOOP:
            raise UnsafeFile(problem.errno, f"{Path(path).name} is a symbolic link (not followed)") from None
        if problem.errno == errno.ENXIO:  # a socket, or a FIFO opened for writing
            raise UnsafeFile(problem.errno, f"{Path(path).name} is a socket, not a file") from None
        raise UnsafeFile(problem.errno, f"cannot read {Path(path).name}: {problem.strerror or problem}") from None
    kind = stat.S_IFMT(os.fstat(fd).st_mode)
    if kind != stat.S_IFREG:
        os.close(fd)
        raise UnsafeFile(errno.EINVAL, f"{Path(path).name} is {_KINDS.get(kind, 'not a regular file')}, not a file")
    return fd


def read_bytes(path: str | os.PathLike, limit: int, offset: int | None = 0) -> bytes:
    """At most `limit` bytes of a regular file from `offset` (None: its last `limit` bytes);
    raises UnsafeFile (see open_regular)."""
    fd = open_regular(path)
    try:
        if offset is None:
            offset = max(0, os.fstat(fd).st_size - limit)
        chunks, left = [], limit
        while left > 0:
            chunk = os.pread(fd, min(left, 1 << 20), offset + limit - left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    except OSError as problem:
        raise UnsafeFile(problem.errno, f"cannot read {Path(path).name}: {problem.strerror or problem}") from None
    finally:
        os.close(fd)


def read_text(path: str | os.PathLike, limit: int) -> str:
    """A small regular file as UTF-8 text; raises UnsafeFile when larger than `limit` bytes."""
    data = read_bytes(path, limit + 1)
    if len(data) > limit:
        raise UnsafeFile(errno.EFBIG, f"{Path(path).name} is larger than {limit:,} bytes")
    return data.decode("utf-8")
