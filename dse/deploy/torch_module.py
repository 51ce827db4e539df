"""A stored dense surrogate network as a plain ``torch.nn.Module`` state_dict and a loader needing only torch.

``dse export --format torch -o DIR`` writes ``DIR/model.pt`` (``torch.save`` of a dict of tensors
and plain values: ``state_dict`` and ``config``) and ``DIR/snn_model.py``, the module below as
source: ``load(path)`` gives an ``nn.Module`` whose ``forward(x)`` takes images ``[B, C, H, W]``
with pixels in [0, 1] (or ``spikes=[T, B, C*H*W]`` already drawn) and returns the logits, the
mean over T steps of the readout, as the engine computes them. The weights are the quantised
ones the engine evaluated; the neuron is the engine's discrete LIF (``u = beta r + I``, spike
``u >= theta``, hard or soft reset); a membrane quantised at ``neuron_bits`` < 32 is run in
float32 here (``config["state_bits"]`` says so).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UserError

LOADER = '''"""Loader of an snn-dse export: needs only torch. ``net = load("model.pt"); logits = net(images)``."""
import torch
from torch import nn


class DenseSNN(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = dict(config)
        sizes = config["sizes"]
        self.layers = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in zip(sizes[:-2], sizes[1:-1]))
        self.readout = nn.Linear(sizes[-2], sizes[-1])

    def forward(self, x=None, spikes=None, generator=None):
        c = self.config
        steps = c["timesteps"]
        if spikes is None:
            x = x.reshape(len(x), -1)
            spikes = (torch.bernoulli(x.expand(steps, *x.shape), generator=generator) if c["coding"] == "rate"
                      else x.expand(steps, *x.shape))
        rest = [None] * len(self.layers)
        total = 0
        for t in range(steps):
            s = spikes[t]
            for i, layer in enumerate(self.layers):
                current = layer(s)
                u = current if rest[i] is None else torch.add(current, rest[i], alpha=c["decay"])
                s = (u >= c["threshold"]).to(u.dtype)
                rest[i] = u * (1 - s) if c["hard_reset"] else u - c["threshold"] * s
            total = total + s
        return (total / steps) @ self.readout.weight.t() + self.readout.bias


def load(path, device="cpu"):
    saved = torch.load(path, map_location=device, weights_only=True)
    net = DenseSNN(saved["config"])
    net.load_state_dict(saved["state_dict"])
    return net.eval()
'''


def export(network: dict[str, Any], folder: str | Path, info: dict[str, Any] | None = None) -> Path:
    """Write ``model.pt`` and ``snn_model.py`` into `folder`; the path of model.pt."""
    import numpy as np
    import torch

    if network["engine"] != "surrogate":
        from .nir import engine_refusal

        other = ("exports with --format nir" if engine_refusal(network["engine"]) is None
                 else "exports to no format (dse evaluate runs it)")
        raise UserError(f"--format torch: only surrogate networks export as torch modules; "
                        f"the {network['engine']} network {other}")
    meta, arrays = network["meta"], network["arrays"]
    if meta["design"].get("cells", 0):
        raise UserError("--format torch: networks of convolutional cells are not exported yet; dense stacks are")
    n_edges = sum(1 for k in arrays if k.startswith("frozen.edge"))
    state = {f"layers.{i}.weight": torch.from_numpy(np.array(arrays[f"frozen.edge{i}"])) for i in range(n_edges)}
    state["readout.weight"] = torch.from_numpy(np.array(arrays["frozen.readout"]))
    state["readout.bias"] = torch.from_numpy(np.array(arrays["frozen.bias"]))
    sizes = [int(state["layers.0.weight"].shape[1])] + [int(state[f"layers.{i}.weight"].shape[0])
                                                         for i in range(n_edges)] + [int(state["readout.bias"].shape[0])]
    neuron = meta["neuron"]
    config = {"sizes": sizes, "timesteps": int(meta["design"]["timesteps"]), "coding": meta["design"]["coding"],
              "decay": float(neuron["decay"]), "threshold": float(neuron["threshold"]),
              "hard_reset": bool(neuron["hard_reset"]), "state_bits": neuron["state_bits"],
              "input_shape": list(meta["shape"]), **{k: v for k, v in (info or {}).items()
                                                       if isinstance(v, (int, float, str))}}
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": state, "config": config}, folder / "model.pt")
    (folder / "snn_model.py").write_text(LOADER)
    return folder / "model.pt"
