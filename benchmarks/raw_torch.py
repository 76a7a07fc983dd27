"""Hand-written PyTorch baselines of the benchmark workloads (what a PyTorch user writes without a framework).

Variants: "sliced" permutes the whole (on-device) training set once per epoch (`X = X[perm]`) and feeds contiguous
slices; "shuffled" gathers each batch with its own index on the host (pinned and copied asynchronously on CUDA).
Convolutional workloads add "-cl" variants in channels_last memory format. `torch.optim.Adam(fused=True)`
(one kernel per update: on CPU 2-3x faster than the default per-tensor path), `F.cross_entropy` on logits;
predict runs `model.eval()` under `torch.inference_mode()`.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from workloads import (CLASSES, EMBED, FEATURES, HIDDEN, RES_BLOCKS, RES_IMAGE, RES_STEM, TR_FF, TR_HEADS, TR_WIDTH,
                       UNITS, VOCAB)

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
_FEEDS = ("sliced", "shuffled")
VARIANTS = {w: _FEEDS for w in ("mlp", "lstm", "transformer")}
VARIANTS.update({w: _FEEDS + tuple(f + "-cl" for f in _FEEDS) for w in ("cnn", "resnet")})


def on_gpu():
    return DEVICE.type == "cuda"


def device_name():
    return torch.cuda.get_device_name(DEVICE) if on_gpu() else "cpu"


def _sync():
    if on_gpu():
        torch.cuda.synchronize(DEVICE)


class ResidualBlock(nn.Module):
    """conv-BN-relu-conv-BN plus the shortcut (a strided 1x1 conv + BN where the shape changes), then relu."""

    def __init__(self, width_in, width, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(width_in, width, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.shortcut = nn.Identity() if stride == 1 and width == width_in else nn.Sequential(
            nn.Conv2d(width_in, width, 1, stride, bias=False), nn.BatchNorm2d(width))

    def forward(self, x):
        r = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(r + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(RES_IMAGE[-1], RES_STEM, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(RES_STEM), nn.ReLU())
        blocks, width_in = [], RES_STEM
        for width, stride in RES_BLOCKS:
            blocks.append(ResidualBlock(width_in, width, stride))
            width_in = width
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(width_in, CLASSES)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)).mean(dim=(2, 3)))


class TextLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, EMBED)
        self.lstm = nn.LSTM(EMBED, UNITS, batch_first=True)
        self.out = nn.Linear(UNITS, 1)

    def forward(self, tokens):
        _, (h, _) = self.lstm(self.embed(tokens))
        return self.out(h[-1])


class Encoder(nn.Module):
    """Embedding + one post-norm encoder block (attention, residual, LayerNorm, FF, residual, LayerNorm) + mean."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, TR_WIDTH)
        self.block = nn.TransformerEncoderLayer(TR_WIDTH, TR_HEADS, TR_FF, dropout=0.0, batch_first=True)
        self.head = nn.Linear(TR_WIDTH, CLASSES)

    def forward(self, tokens):
        return self.head(self.block(self.embed(tokens)).mean(dim=1))


def build(workload):
    if workload == "mlp":
        return nn.Sequential(nn.Linear(FEATURES, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
                             nn.Linear(HIDDEN, CLASSES))
    if workload == "cnn":
        return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(32 * 13 * 13, CLASSES))
    if workload == "lstm":
        return TextLSTM()
    if workload == "resnet":
        return ResNet()
    if workload == "transformer":
        return Encoder()
    raise ValueError(f"workload: unknown {workload!r}")


def set_mlp_weights(model, weights):
    """Load Keras-ordered MLP weights ([kernel (in, out), bias] per Dense) into the torch Sequential."""
    linears = [m for m in model if isinstance(m, nn.Linear)]
    if len(weights) != 2 * len(linears):
        raise ValueError(f"weights: expected {2 * len(linears)} arrays (kernel, bias per Dense), got {len(weights)}")
    with torch.no_grad():
        for layer, kernel, bias in zip(linears, weights[::2], weights[1::2]):
            layer.weight.copy_(torch.from_numpy(np.asarray(kernel).T))
            layer.bias.copy_(torch.from_numpy(np.asarray(bias)))


class Run:
    """One variant of the hand loop on one workload: `first_step()`, `epoch()`, `predict(x)`, `loss(x, y)`."""

    def __init__(self, workload, variant, cfg, x, y, weights=None):
        if variant not in VARIANTS[workload]:
            raise ValueError(f"variant: expected one of {VARIANTS[workload]} for {workload}, got {variant!r}")
        self.workload, self.batch, self.steps = workload, cfg["batch"], cfg["steps"]
        self.sliced = variant.startswith("sliced")
        self.images = workload in ("cnn", "resnet")
        self.format = torch.channels_last if variant.endswith("-cl") else torch.contiguous_format
        self.model = build(workload).to(DEVICE)
        if self.images:
            self.model = self.model.to(memory_format=self.format)
        if weights is not None:
            if workload != "mlp":
                raise ValueError(f"weights: only supported for the mlp workload, got workload {workload!r}")
            set_mlp_weights(self.model, weights)
        self.loss_fn = F.binary_cross_entropy_with_logits if workload == "lstm" else F.cross_entropy
        X, Y = self._inputs(x, DEVICE if self.sliced else None), self._targets(y)
        if not self.sliced and on_gpu():
            X, Y = X.pin_memory(), Y.pin_memory()
        self.X, self.Y = X, (Y.to(DEVICE) if self.sliced else Y)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3, fused=True)

    def _inputs(self, x, device):
        """NumPy inputs (NHWC images) to a torch tensor in the model's layout (NCHW, maybe channels_last)."""
        t = torch.from_numpy(np.asarray(x))
        if self.images:
            t = t.permute(0, 3, 1, 2)
        else:
            t = t.long() if t.dtype == torch.int32 else t
        if device is not None:
            t = t.to(device, non_blocking=True)
        return t.contiguous(memory_format=self.format) if self.images else t.contiguous()

    def _targets(self, y):
        t = torch.from_numpy(np.asarray(y))
        return t.float() if self.workload == "lstm" else t.long()

    def _step(self, xb, yb):
        self.opt.zero_grad()
        loss = self.loss_fn(self.model(xb), yb)
        loss.backward()
        self.opt.step()
        return loss

    def _to_device(self, xb, yb):
        if on_gpu():
            return xb.to(DEVICE, non_blocking=True), yb.to(DEVICE, non_blocking=True)
        return xb, yb

    def first_step(self):
        self.model.train()
        xb, yb = self.X[:self.batch], self.Y[:self.batch]
        self._step(*self._to_device(xb, yb))
        _sync()

    def epoch(self):
        self.model.train()
        n, b = self.steps * self.batch, self.batch
        if self.sliced:
            perm = torch.randperm(n, device=DEVICE)
            X, Y = self.X[perm], self.Y[perm]
            if self.images:
                X = X.contiguous(memory_format=self.format)
            for i in range(0, n, b):
                self._step(X[i:i + b], Y[i:i + b])
        else:
            perm = torch.randperm(n)
            for i in range(0, n, b):
                index = perm[i:i + b]
                xb, yb = self.X[index], self.Y[index]
                if self.images:
                    xb = xb.contiguous(memory_format=self.format)
                if on_gpu():
                    xb, yb = xb.pin_memory(), yb.pin_memory()
                self._step(*self._to_device(xb, yb))
        _sync()

    def predict(self, x):
        """Forward pass on NumPy inputs, host transfers included, returns NumPy logits."""
        self.model.eval()
        with torch.inference_mode():
            return self.model(self._inputs(x, DEVICE)).cpu().numpy()

    def predict_batched(self, x, batch):
        return np.concatenate([self.predict(x[i:i + batch]) for i in range(0, len(x), batch)])

    def loss(self, x, y):
        """Training-mode loss on one batch, no update."""
        self.model.train()
        with torch.no_grad():
            return float(self.loss_fn(self.model(self._inputs(x, DEVICE)), self._targets(y).to(DEVICE)))

    def train_on_batch(self, x, y):
        """One optimizer step on one batch; returns its loss (before the update)."""
        self.model.train()
        return self._step(self._inputs(x, DEVICE), self._targets(y).to(DEVICE)).item()
