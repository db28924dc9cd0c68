"""MNIST read where servers keep it: read-only folders, .gz files as they are, other tools' names.

Real files only (copies of, or links to, the shared MNIST). Read-only checks run in a child process
without root's power to ignore file modes, as a normal user meets them.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from core.training.data import DataError, load_split

REPO = Path(__file__).resolve().parents[1]
BASES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
FIRST_LABELS = {"train": [5, 0, 4, 1, 9], "test": [7, 2, 1, 0, 4]}  # from the datasets README
CPU = torch.device("cpu")
NO_SERVER = "http://127.0.0.1:9/"  # refused at once: no test waits on a network

LOAD_BOTH_SPLITS = """
import json, sys, torch
from pathlib import Path
from core.training.data import load_split
out = {}
for name, train in (("train", True), ("test", False)):
    split = load_split("mnist", Path(sys.argv[1]), train, torch.device("cpu"))
    out[name] = [len(split), split.labels[:5].tolist()]
print(json.dumps(out))
"""

DOWNLOAD_WITHOUT_SERVER = f"""
import sys, torch
from pathlib import Path
from torchvision.datasets import MNIST
from core.training.data import DataError, load_split
MNIST.mirrors = [{NO_SERVER!r}]
try:
    load_split("mnist", Path(sys.argv[1]), False, torch.device("cpu"))
except DataError as failure:
    print(failure)
"""


@pytest.fixture
def shared_raw(data_dir) -> Path:
    return data_dir / "MNIST" / "raw"


def _raw(root: Path) -> Path:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    return raw


def _snapshot(folder: Path) -> list[tuple]:
    """Every entry under folder with its size, mode and mtime: any write shows as a difference."""
    entries = []
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        entries.append((str(path.relative_to(folder)), info.st_size, info.st_mode, info.st_mtime_ns))
    return entries


def _as_a_normal_user(code: str, *args: str) -> subprocess.CompletedProcess:
    """Runs python code in a child that file modes bind: root's DAC overrides dropped (setpriv)."""
    prefix = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root and setpriv is missing: cannot make a read-only folder bind")
        caps = "-dac_override,-dac_read_search"
        prefix = [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}"]
    return subprocess.run(
        [*prefix, sys.executable, "-c", code, *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def _make_read_only(root: Path) -> None:
    for folder in (root, *[p for p in root.rglob("*") if p.is_dir()]):
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)


def _make_writable(root: Path) -> None:  # so that pytest can clean up
    for folder in (root, *[p for p in root.rglob("*") if p.is_dir()]):
        folder.chmod(0o755)


def test_a_read_only_folder_of_original_gz_files_loads_and_is_left_unchanged(tmp_path, shared_raw):
    root = tmp_path / "share"
    raw = _raw(root)
    for base in BASES:
        shutil.copyfile(shared_raw / f"{base}.gz", raw / f"{base}.gz")
    _make_read_only(root)
    before = _snapshot(root)
    try:
        child = _as_a_normal_user(LOAD_BOTH_SPLITS, str(root))
        assert child.returncode == 0, child.stderr[-2000:]
        loaded = json.loads(child.stdout.strip().splitlines()[-1])
        assert loaded == {"train": [60_000, FIRST_LABELS["train"]], "test": [10_000, FIRST_LABELS["test"]]}
        assert _snapshot(root) == before  # nothing extracted beside the .gz
        assert not (tmp_path / "cache").exists()  # and nothing downloaded
    finally:
        _make_writable(root)


def test_a_read_only_empty_folder_downloads_to_the_cache_and_says_both(tmp_path):
    root = tmp_path / "share"
    _raw(root)
    _make_read_only(root)
    before = _snapshot(root)
    try:
        child = _as_a_normal_user(DOWNLOAD_WITHOUT_SERVER, str(root))
        assert child.returncode == 0, child.stderr[-2000:]
        message = child.stdout.strip()
        assert message.count("\n") == 0 and str(root / "MNIST" / "raw") in message
        cache = tmp_path / "cache" / "mnist-tui" / "MNIST" / "raw"
        assert f"downloading them to {cache} (the cache:" in message and NO_SERVER in message
        assert "copy the four files" in message
        assert _snapshot(root) == before  # nothing written there
        assert not (tmp_path / "cache").exists()  # a failed download leaves no empty folders either
    finally:
        _make_writable(root)


def test_gz_files_made_by_hand_load_as_well(tmp_path, shared_raw):
    """Not byte-identical to the originals: no checksum refuses them; the headers and sizes are checked."""
    raw = _raw(tmp_path)
    images = gzip.compress((shared_raw / "t10k-images-idx3-ubyte").read_bytes(), compresslevel=1, mtime=0)
    assert images != (shared_raw / "t10k-images-idx3-ubyte.gz").read_bytes()
    (raw / "t10k-images-idx3-ubyte.gz").write_bytes(images)
    # gzip run on the .gz once more: read through both layers
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress((shared_raw / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    mine = load_split("mnist", tmp_path, False, CPU)
    original = load_split("mnist", shared_raw.parents[1], False, CPU)
    assert len(mine) == 10_000 and mine.labels[:5].tolist() == FIRST_LABELS["test"]
    assert torch.equal(mine.images, original.images) and torch.equal(mine.labels, original.labels)


def test_dotted_names_as_7zip_and_kaggle_write_them_load(tmp_path, shared_raw):
    raw = _raw(tmp_path)
    for base in BASES:
        dotted = base.replace("-idx", ".idx")  # train-images.idx3-ubyte
        if base.startswith("t10k"):
            os.symlink(shared_raw / f"{base}.gz", raw / f"{dotted}.gz")
        else:
            os.symlink(shared_raw / base, raw / dotted)
    test = load_split("mnist", tmp_path, False, CPU)
    train = load_split("mnist", tmp_path, True, CPU, limit=100)
    assert len(test) == 10_000 and test.labels[:5].tolist() == FIRST_LABELS["test"]
    assert len(train) == 100 and train.labels[:5].tolist() == FIRST_LABELS["train"]


def test_near_matches_are_named_with_their_rename_and_nothing_is_downloaded(tmp_path, shared_raw, monkeypatch):
    from torchvision.datasets import MNIST

    monkeypatch.setattr(MNIST, "mirrors", [NO_SERVER])
    raw = _raw(tmp_path)
    os.symlink(shared_raw / "t10k-images-idx3-ubyte.gz", raw / "t10k-images-idx3-ubyte (1).gz")
    os.symlink(shared_raw / "t10k-labels-idx1-ubyte", raw / "T10K-LABELS-IDX1-UBYTE")
    os.symlink(shared_raw / "train-images-idx3-ubyte", raw.parent / "train-images-idx3-ubyte")  # one folder too high
    with pytest.raises(DataError) as test_split:
        load_split("mnist", tmp_path, False, CPU)
    message = str(test_split.value)
    assert "\n" not in message and NO_SERVER not in message
    assert f"{raw / 't10k-images-idx3-ubyte (1).gz'}: rename it to t10k-images-idx3-ubyte.gz" in message
    assert f"{raw / 'T10K-LABELS-IDX1-UBYTE'}: rename it to t10k-labels-idx1-ubyte" in message
    with pytest.raises(DataError, match="move it to " + str(raw / "train-images-idx3-ubyte")):
        load_split("mnist", tmp_path, True, CPU)


@pytest.mark.parametrize(
    "name, cut, problem",
    [
        ("t10k-images-idx3-ubyte", 100_000, "expected 10,000 images of 28x28 (7,840,016 bytes), found 100,000 bytes: truncated"),
        ("t10k-images-idx3-ubyte.gz", 50_000, "the gzipped data ends before its end marker: truncated"),
        ("t10k-labels-idx1-ubyte", 5_000, "expected 10,000 labels (10,008 bytes), found 5,000 bytes: truncated"),
    ],
)
def test_a_truncated_file_gets_one_line_naming_it(tmp_path, shared_raw, name, cut, problem):
    raw = _raw(tmp_path)
    for base in BASES[2:]:
        os.symlink(shared_raw / base, raw / base)
    (raw / name.removesuffix(".gz")).unlink()
    (raw / name).write_bytes((shared_raw / name).read_bytes()[:cut])
    with pytest.raises(DataError) as caught:
        load_split("mnist", tmp_path, False, CPU)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{raw / name}: {problem}. To fix: copy the originals")


def test_swapped_files_are_told_apart_by_their_headers(tmp_path, shared_raw):
    raw = _raw(tmp_path)
    os.symlink(shared_raw / "t10k-labels-idx1-ubyte", raw / "t10k-images-idx3-ubyte")
    os.symlink(shared_raw / "t10k-images-idx3-ubyte", raw / "t10k-labels-idx1-ubyte")
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte: holds labels \(IDX magic 2049\), not images"):
        load_split("mnist", tmp_path, False, CPU)


def test_files_an_earlier_download_left_in_the_cache_are_read_without_writing_the_data_folder(tmp_path, shared_raw):
    cache_raw = tmp_path / "cache" / "mnist-tui" / "MNIST" / "raw"  # conftest points XDG_CACHE_HOME at tmp/cache
    cache_raw.mkdir(parents=True)
    for base in BASES[2:]:
        os.symlink(shared_raw / f"{base}.gz", cache_raw / f"{base}.gz")
    data = tmp_path / "data"
    data.mkdir()
    assert load_split("mnist", data, False, CPU).labels[:5].tolist() == FIRST_LABELS["test"]
    assert list(data.iterdir()) == []
