"""Loading MNIST-format datasets into device tensors, and slicing batches from them.

The IDX files are read where they lie, plain or gzipped, and nothing is ever written beside
them: the data folder may be a read-only share. A strict header and size check stands in for
archive checksums, so a copy gzipped again by hand reads as well as the original. A download
(only when no usable file is found) goes to the data folder if it is writable, else to the
user cache. After that the whole split lives on the training device as one float tensor (as in
KellerJordan's airbench), and batches are index slices of a per-epoch permutation made on the
device: no DataLoader, no per-sample Python.
"""

from __future__ import annotations

import gzip
import os
import re
import socket
import struct
import zlib
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import torch
from torchvision import datasets as tv_datasets
from torchvision.datasets.utils import download_url

DATA_ENV = "MNIST_TUI_DATA"
# torchvision's classes give the folder name (<root>/<ClassName>/raw), the mirrors and the
# md5s of the original .gz files; we use them for downloads only, never to read.
_CLASSES = {
    "mnist": tv_datasets.MNIST,
    "fashion-mnist": tv_datasets.FashionMNIST,
    "kmnist": tv_datasets.KMNIST,
}
_DOWNLOAD_TIMEOUT_S = 20
_SPLITS = {True: ("train", 60_000), False: ("t10k", 10_000)}  # file prefix, sample count (all three datasets)
_SIDE = 28
_IMAGES, _LABELS = 2051, 2049  # IDX magic numbers: unsigned bytes, 3 and 1 dimensions
_GZIP = b"\x1f\x8b"
_FOUR_FILES = "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"
# Name endings that other tools add: archives, unfinished downloads, wget's ".1", a browser's " (1)".
_ARCHIVE = (".gz", ".zip", ".7z", ".tar", ".tgz", ".bz2", ".xz", ".rar")
_UNFINISHED = (".part", ".crdownload", ".download", ".tmp")


class DataError(RuntimeError):
    """The dataset could not be loaded; the message says where we looked and how to fix it."""


@dataclass(frozen=True)
class Split:
    images: torch.Tensor  # float32, N x 1 x 28 x 28, pixels in [0, 1] (what ToTensor gives)
    labels: torch.Tensor  # int64, N

    def __len__(self) -> int:
        return self.labels.shape[0]


def default_data_dir() -> Path:
    """The user cache folder: $XDG_CACHE_HOME/mnist-tui (else ~/.cache/mnist-tui)."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "mnist-tui"


def resolve_data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """--data-dir, else $MNIST_TUI_DATA, else the user cache folder."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else default_data_dir()


def load_split(dataset: str, root: Path, train: bool, device: torch.device, limit: int | None = None) -> Split:
    """One split as device tensors; `limit` keeps the first N samples (in the files' order).

    Reads <root>/<ClassName>/raw (then the user cache), downloading only when neither holds the
    split's two files. Raises DataError (one line: the file, what is wrong, what to do) when a
    file is missing, misnamed, truncated or not the expected IDX file, or a download fails.
    """
    images_path, labels_path = _locate(dataset, Path(root), train)
    count = _SPLITS[train][1]
    images = _read_checked(dataset, images_path, _IMAGES, count)
    labels = _read_checked(dataset, labels_path, _LABELS, count)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    # ToTensor's exact scaling: uint8 / 255 as float32, one channel.
    pixels = images.to(device).unsqueeze(1).float().div_(255)
    return Split(pixels, labels.to(device=device, dtype=torch.long))


# ----- finding the files ----------------------------------------------------------------------


def _bases(train: bool) -> tuple[str, str]:
    prefix = _SPLITS[train][0]
    return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"


def _accepted(base: str) -> list[str]:
    """The names we read, best first: plain before .gz (no decompressing), then 7-Zip's and Kaggle's dotted ones."""
    dotted = base.replace("-idx", ".idx")
    return [base, dotted, f"{base}.gz", f"{dotted}.gz"]


def _find(folder: Path, base: str) -> Path | None:
    return next((folder / name for name in _accepted(base) if (folder / name).is_file()), None)


def _locate(dataset: str, root: Path, train: bool) -> tuple[Path, Path]:
    """The split's images and labels files: in the data folder, else the cache, else downloaded."""
    cls = _CLASSES[dataset]
    raw, cache = root / cls.__name__ / "raw", default_data_dir() / cls.__name__ / "raw"
    bases = _bases(train)
    found = [_find(raw, base) for base in bases]
    if all(found):
        return found[0], found[1]
    hints = [hint for base, path in zip(bases, found) if path is None for hint in _near_matches(root, raw, base)]
    if hints:  # the user put files there under other names: a rename fixes it, a download would not
        missing = ", ".join(base for base, path in zip(bases, found) if path is None)
        raise DataError(
            f"{dataset}: {missing} not found in {raw} (read as named, .gz, or dotted like "
            f"{_accepted(bases[0])[1]}); seen instead: {'; '.join(hints)}"
        )
    if cache != raw and all(cached := [_find(cache, base) for base in bases]):
        return cached[0], cached[1]
    target = raw if _writable(raw) else cache
    _download(dataset, cls, bases, target, raw, cache)
    return _find(target, bases[0]), _find(target, bases[1])


def _key(name: str) -> str:
    """A name without case, copy counters, archive or download endings and separators."""
    name = re.sub(r"\s*\(\d+\)", "", name.casefold())
    endings = re.compile(r"(\.\d+|" + "|".join(re.escape(e) for e in _ARCHIVE + _UNFINISHED) + r")$")
    while (shorter := endings.sub("", name)) != name:
        name = shorter
    return re.sub(r"[^a-z0-9]", "", name)


def _near_matches(root: Path, raw: Path, base: str) -> list[str]:
    """'<seen>: <what to do>' for every entry near `base` in raw, its parent, root and look-alike class folders."""
    folders = [raw, raw.parent, root]
    for entry in _entries(root):
        if entry.is_dir() and _key(entry.name) == _key(raw.parent.name) and entry != raw.parent:
            folders += [entry, entry / "raw"]
    hints, seen = [], set()
    for folder in folders:
        for entry in _entries(folder):
            if entry in seen or _key(entry.name) != _key(base):
                continue
            seen.add(entry)
            hints.append(f"{entry}: {_what_to_do(entry, raw, base)}")
    return hints


def _entries(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:  # missing or unreadable: nothing seen there
        return []


def _what_to_do(entry: Path, raw: Path, base: str) -> str:
    lower = entry.name.casefold()
    if entry.is_dir():
        return f"a folder: put the IDX file inside it at {raw / base} instead"
    if lower.endswith(_UNFINISHED):
        return "an unfinished download: download it again"
    if not entry.is_file():
        return "not a readable file (a broken link?)"
    gzipped = _starts_with(entry, _GZIP)
    if not gzipped and set(Path(lower).suffixes) & (set(_ARCHIVE) - {".gz"}):
        return f"an archive: extract it into {raw} (plain and .gz files are read)"
    name = base + (".gz" if gzipped else "")
    return f"rename it to {name}" if entry.parent == raw else f"move it to {raw / name}"


def _starts_with(path: Path, magic: bytes) -> bool:
    try:
        with open(path, "rb") as file:
            return file.read(len(magic)) == magic
    except OSError:
        return False


# ----- reading them ---------------------------------------------------------------------------


def _read_checked(dataset: str, path: Path, magic: int, count: int) -> torch.Tensor:
    """_read_idx, with its problem turned into a one-line DataError that names the file and the fix."""
    try:
        return _read_idx(path, magic, count)
    except ValueError as problem:
        base = path.name.removesuffix(".gz").replace(".idx", "-idx")
        others = [name for name in _accepted(base) if name != path.name and (path.parent / name).is_file()]
        fix = (
            f"delete it, and {others[0]} beside it is read instead" if others else
            f"copy the originals there again from where you got them (on a machine with internet, "
            f"torchvision downloads them from {_CLASSES[dataset].mirrors[0]})"
        )
        raise DataError(f"{path}: {problem}. To fix: {fix}") from problem


def _read_idx(path: Path, magic: int, count: int) -> torch.Tensor:
    """The uint8 data of one IDX file, plain or gzipped (told by its content, not its name).

    magic 2051: `count` images, uint8 (count, 28, 28); 2049: `count` labels 0-9, uint8 (count,).
    Raises ValueError saying what is wrong (truncated, too long, another file's header...).
    """
    shape = (count, _SIDE, _SIDE) if magic == _IMAGES else (count,)
    header_size = 4 * (1 + len(shape))
    data = torch.empty(shape, dtype=torch.uint8)
    expected = header_size + data.numel()
    what = f"{count:,} images of {_SIDE}x{_SIDE}" if magic == _IMAGES else f"{count:,} labels"
    with ExitStack() as stack:
        try:
            stream, gzipped = _open_unpacked(path, stack)
            header = stream.read(header_size)
            found = len(header)
            if found == header_size:
                _check_header(header, magic, shape)
                got = _read_into(stream, memoryview(data.view(-1).numpy()))
                found += got + (_count_rest(stream) if got == data.numel() else 0)
        except EOFError:
            raise ValueError("the gzipped data ends before its end marker: truncated") from None
        except (gzip.BadGzipFile, zlib.error) as corrupt:
            raise ValueError(f"corrupt gzip data ({corrupt})") from None
        except OSError as unreadable:
            raise ValueError(f"cannot be read ({unreadable.strerror or unreadable})") from None
    if found != expected:
        after = " after decompressing" if gzipped else ""
        verdict = "truncated" if found < expected else "extra bytes at the end"
        raise ValueError(f"expected {what} ({expected:,} bytes), found {found:,} bytes{after}: {verdict}")
    if magic == _LABELS and (top := int(data.max())) > 9:
        raise ValueError(f"label {top} at index {int(data.argmax())}: labels must be 0-9")
    return data


def _open_unpacked(path: Path, stack: ExitStack) -> tuple[BinaryIO, bool]:
    """The file's bytes, through gzip as many times as it was gzipped (a .gz gzipped again reads too)."""
    stream = stack.enter_context(open(path, "rb"))
    gzipped = False
    while stream.peek(2)[:2] == _GZIP:
        stream, gzipped = stack.enter_context(gzip.GzipFile(fileobj=stream, mode="rb")), True
    return stream, gzipped


def _check_header(header: bytes, magic: int, shape: tuple[int, ...]) -> None:
    """Raises ValueError unless the IDX header says `magic` and exactly `shape`."""
    kind = "images" if magic == _IMAGES else "labels"
    found_magic, *dims = struct.unpack(f">{len(shape) + 1}I", header)
    if found_magic in (_IMAGES, _LABELS) and found_magic != magic:
        other = "labels" if found_magic == _LABELS else "images"
        raise ValueError(f"holds {other} (IDX magic {found_magic}), not {kind} (names swapped?)")
    if found_magic != magic:
        raise ValueError(f"not an IDX {kind} file: it starts with {header[:4].hex()}, not the magic number {magic}")
    if dims[1:] != list(shape[1:]):
        raise ValueError(f"images of {dims[1]}x{dims[2]}, expected {_SIDE}x{_SIDE}")
    if dims[0] != shape[0]:
        raise ValueError(f"holds {dims[0]:,} {kind}, expected {shape[0]:,} (the other split's file?)")


def _read_into(stream: BinaryIO, view: memoryview) -> int:
    got = 0
    while got < len(view) and (n := stream.readinto(view[got:])):
        got += n
    return got


def _count_rest(stream: BinaryIO, cap: int = 1 << 26) -> int:
    """Bytes left after the data (0 for a well-formed file); counting stops past `cap`."""
    rest = 0
    while rest <= cap and (chunk := stream.read(1 << 20)):
        rest += len(chunk)
    return rest


# ----- downloading them -----------------------------------------------------------------------


def _writable(folder: Path) -> bool:
    """Whether we may create files in `folder` (or create it): its nearest existing ancestor decides."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return candidate.is_dir() and os.access(candidate, os.W_OK | os.X_OK)
    return False


def _download(dataset: str, cls, bases: tuple[str, ...], target: Path, raw: Path, cache: Path) -> None:
    """Fetches the original .gz of each base not yet in `target`; raises DataError saying where it looked and how to fix."""
    created = [folder for folder in (target, *target.parents) if not folder.exists()]
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(_DOWNLOAD_TIMEOUT_S)
    try:
        for base in bases:
            if _find(target, base) is None:
                _fetch(cls, f"{base}.gz", target)
    except Exception as failure:  # network down, cache not writable, disk full, bad checksum...
        for folder in created:  # a failed download leaves no empty folders behind
            try:
                folder.rmdir()
            except OSError:
                break
        reason = " ".join(str(failure).split())[:400]
        looked = f"{raw}" + (f" nor in the cache {cache}" if cache != raw else "")
        where = f"{target}" + (f" (the cache: {raw} is read-only)" if target != raw else "")
        raise DataError(
            f"{dataset} files are not in {looked}, and downloading them to {where} failed "
            f"({reason}). To fix: on a machine without internet, copy the four "
            f"files ({_FOUR_FILES}, or their .gz) into {raw}, or point --data-dir / ${DATA_ENV} at the "
            f"folder that holds {cls.__name__}/raw."
        ) from failure
    finally:
        socket.setdefaulttimeout(old_timeout)


def _fetch(cls, name: str, target: Path) -> None:
    """One original .gz into `target`, under a temporary name until its md5 is checked (never half a file)."""
    md5 = dict(cls.resources)[name]
    part = target / f".{name}.{os.getpid()}.part"
    errors = []
    for mirror in cls.mirrors:
        try:
            download_url(f"{mirror}{name}", str(target), part.name, md5)
            os.replace(part, target / name)
            return
        except Exception as failure:
            errors.append(f"tried {mirror}: {type(failure).__name__}: {failure}")
        finally:
            part.unlink(missing_ok=True)
    raise OSError(f"{name}: " + "; ".join(errors))


def batch_indices(n: int, batch_size: int, generator: torch.Generator, device: torch.device) -> Iterator[torch.Tensor]:
    """Index tensors covering 0..n-1 exactly once, in a fresh random order; the last may be short."""
    order = torch.randperm(n, generator=generator, device=device)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def batches_per_epoch(n: int, batch_size: int) -> int:
    return -(-n // batch_size)
