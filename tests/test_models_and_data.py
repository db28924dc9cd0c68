"""The seed's network, and the real MNIST as device tensors."""

import pytest
import torch

from core.training.data import DataError, batch_indices, load_split, resolve_data_dir
from core.training.models import build_model, parameter_count


def test_cnn_has_the_seeds_layer_shapes():
    model = build_model("cnn").eval()
    x = torch.zeros(2, 1, 28, 28)
    shapes = []
    for block in (model.layer1, model.layer2, model.layer3, model.layer4, model.fc):
        x = block(x)
        shapes.append(tuple(x.shape[1:]))
    assert shapes == [(16, 26, 26), (32, 12, 12), (64, 10, 10), (128, 4, 4), (10,)]
    kinds = [type(m).__name__ for m in model.layer2]
    assert kinds == ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"]
    assert [m.out_features for m in model.fc if isinstance(m, torch.nn.Linear)] == [1024, 128, 10]


def test_cnn_parameter_count():
    conv = lambda i, o: i * o * 9 + o + 2 * o  # weights + bias + BatchNorm's weight and bias
    linear = lambda i, o: i * o + o
    expected = conv(1, 16) + conv(16, 32) + conv(32, 64) + conv(64, 128)
    expected += linear(2048, 1024) + linear(1024, 128) + linear(128, 10)
    assert parameter_count(build_model("cnn")) == expected == 2_328_298


def test_mlp_takes_the_784_pixels():
    model = build_model("mlp")
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert model.fc[1].in_features == 784


def test_real_mnist_loads_as_tensors_scaled_like_totensor(data_dir):
    train = load_split("mnist", data_dir, True, torch.device("cpu"))
    test = load_split("mnist", data_dir, False, torch.device("cpu"))
    assert len(train) == 60_000 and len(test) == 10_000
    assert train.images.shape == (60_000, 1, 28, 28) and train.images.dtype == torch.float32
    assert train.labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert test.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert 0.0 == train.images.min() and train.images.max() == 1.0
    assert train.images.mean().item() * 255 == pytest.approx(33.3184, abs=1e-3)
    assert torch.bincount(test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_subset_keeps_the_first_images(data_dir):
    small = load_split("mnist", data_dir, False, torch.device("cpu"), limit=25)
    assert len(small) == 25 and small.labels[:3].tolist() == [7, 2, 1]


def test_every_sample_is_seen_exactly_once_per_epoch():
    generator = torch.Generator().manual_seed(3)
    first = torch.cat(list(batch_indices(1000, 64, generator, torch.device("cpu"))))
    second = torch.cat(list(batch_indices(1000, 64, generator, torch.device("cpu"))))
    assert sorted(first.tolist()) == list(range(1000)) == sorted(second.tolist())
    assert first.tolist() != second.tolist()  # reshuffled every epoch
    sizes = [len(b) for b in batch_indices(1000, 64, generator, torch.device("cpu"))]
    assert sizes == [64] * 15 + [40]


def test_data_dir_comes_from_flag_then_env_then_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_TUI_DATA", "/from/env")
    assert str(resolve_data_dir("/from/flag")) == "/from/flag"
    assert str(resolve_data_dir()) == "/from/env"
    monkeypatch.delenv("MNIST_TUI_DATA")
    assert resolve_data_dir() == tmp_path / "cache" / "mnist-tui"


def test_missing_files_fail_with_where_and_how(monkeypatch, tmp_path):
    from torchvision.datasets import MNIST

    monkeypatch.setattr(MNIST, "mirrors", ["http://127.0.0.1:9/"])  # refused at once: no waiting on DNS
    with pytest.raises(DataError) as caught:
        load_split("mnist", tmp_path / "empty", True, torch.device("cpu"))
    message = str(caught.value)
    assert str(tmp_path / "empty" / "MNIST" / "raw") in message
    raw = tmp_path / "empty" / "MNIST" / "raw"  # writable (it can be made): the download goes there
    assert "http://127.0.0.1:9/" in message and f"downloading them to {raw} failed" in message
    assert "copy the four files" in message and "MNIST_TUI_DATA" in message
    assert not (tmp_path / "empty").exists()  # the failed download left no empty folders


def test_truncated_files_are_reported(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / name).write_bytes(b"\x00\x00\x08\x03\x00")
    with pytest.raises(DataError) as caught:
        load_split("mnist", tmp_path, True, torch.device("cpu"))
    message = str(caught.value)  # one line: the file, what is wrong, what to do
    assert message.startswith(f"{raw / 'train-images-idx3-ubyte'}: expected 60,000 images of 28x28 (47,040,016 bytes), found 5 bytes: truncated")
    assert "\n" not in message and "copy the originals there again" in message
