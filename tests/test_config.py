"""The run configuration: defaults from the seed, and every field's bad values refused by name."""

import dataclasses

import pytest

from core.config import ConfigError, RunConfig, parse_config, parse_field


def test_defaults_are_the_seeds():
    config = RunConfig()
    assert (config.model, config.lr, config.batch_size, config.epochs) == ("cnn", 0.001, 64, 5)
    assert (config.optimizer, config.momentum, config.log_every) == ("sgd", 0.9, 100)


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        RunConfig().lr = 0.1  # type: ignore[misc]


def test_parses_text_values():
    config = parse_config({"lr": "0.01", "batch_size": "128", "epochs": "3", "model": "MLP", "train_size": "", "device": "cuda:1"})
    assert (config.lr, config.batch_size, config.epochs, config.model, config.train_size, config.device) == (
        0.01, 128, 3, "mlp", None, "cuda:1")


BAD = [
    ("lr", "abc", "must be a number"),
    ("lr", "nan", "finite"),
    ("lr", "inf", "finite"),
    ("lr", "0", "> 0"),
    ("lr", "-0.1", "> 0"),
    ("lr", "", "required"),
    ("batch_size", "0", "between 1 and 60,000"),
    ("batch_size", "1.5", "whole number"),
    ("batch_size", "60001", "between 1 and 60,000"),
    ("epochs", "0", ">= 1"),
    ("epochs", "two", "whole number"),
    ("momentum", "1", "[0, 1)"),
    ("momentum", "-0.5", "[0, 1)"),
    ("weight_decay", "-1", ">= 0"),
    ("weight_decay", "nan", "finite"),
    ("seed", "-3", "between 0"),
    ("log_every", "0", ">= 1"),
    ("train_size", "0", "between 1 and 60,000"),
    ("train_size", "70000", "between 1 and 60,000"),
    ("test_size", "10001", "between 1 and 10,000"),
    ("model", "resnet", "one of cnn, mlp"),
    ("dataset", "cifar", "one of mnist, fashion-mnist, kmnist"),
    ("optimizer", "rmsprop", "one of sgd, adam"),
    ("device", "gpu", "auto, cpu, cuda, cuda:N or mps"),
    ("device", "cuda:x", "auto, cpu, cuda, cuda:N or mps"),
    ("name", "x" * 61, "at most 60"),
]


@pytest.mark.parametrize("field,text,words", BAD)
def test_bad_values_name_the_field_and_the_range(field, text, words):
    with pytest.raises(ConfigError) as caught:
        parse_config({field: text})
    assert caught.value.field == field
    assert words in caught.value.message
    assert str(caught.value).startswith(f"{field}: ")


def test_batch_larger_than_the_training_subset_is_refused():
    with pytest.raises(ConfigError) as caught:
        parse_config({"train_size": "100", "batch_size": "128"})
    assert caught.value.field == "batch_size" and "100" in caught.value.message


def test_cuda_without_a_gpu_is_refused():
    from core.training.devices import resolve_device
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ConfigError) as caught:
        resolve_device("cuda")
    assert caught.value.field == "device" and "no CUDA GPU" in caught.value.message


def test_round_trips_through_dict():
    config = RunConfig(lr=0.0001, batch_size=32, train_size=1000, name="x", resume="a.pt")
    assert RunConfig.from_dict(config.to_dict()) == config


def test_unknown_field():
    with pytest.raises(ConfigError):
        parse_field("colour", "red")
