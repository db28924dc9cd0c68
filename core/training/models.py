"""The networks: the seed's CNN exactly, and a fully-connected MLP on the 784 pixels."""

from __future__ import annotations

from torch import nn


class SeedCNN(nn.Module):
    """The lab report's network (SEED.md): four conv blocks, then three linear layers."""

    def __init__(self) -> None:
        super().__init__()
        self.layer1 = nn.Sequential(nn.Conv2d(1, 16, 3), nn.BatchNorm2d(16), nn.ReLU())
        self.layer2 = nn.Sequential(nn.Conv2d(16, 32, 3), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2, 2))
        self.layer3 = nn.Sequential(nn.Conv2d(32, 64, 3), nn.BatchNorm2d(64), nn.ReLU())
        self.layer4 = nn.Sequential(nn.Conv2d(64, 128, 3), nn.BatchNorm2d(128), nn.ReLU(), nn.MaxPool2d(2, 2))
        self.fc = nn.Sequential(
            nn.Flatten(),
            nn.Linear(128 * 4 * 4, 1024),
            nn.ReLU(),
            nn.Linear(1024, 128),
            nn.ReLU(),
            nn.Linear(128, 10),
        )

    def forward(self, x):
        return self.fc(self.layer4(self.layer3(self.layer2(self.layer1(x)))))


class MLP(nn.Module):
    """The fully-connected network the report's title promises: 784 -> 512 -> 256 -> 10."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Sequential(
            nn.Flatten(),
            nn.Linear(28 * 28, 512),
            nn.ReLU(),
            nn.Linear(512, 256),
            nn.ReLU(),
            nn.Linear(256, 10),
        )

    def forward(self, x):
        return self.fc(x)


_MODELS = {"cnn": SeedCNN, "mlp": MLP}


def build_model(name: str) -> nn.Module:
    return _MODELS[name]()


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
