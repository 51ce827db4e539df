"""How long hwmodels takes to score a 50-layer profile with every cost model.

Prints one JSON line: the median over repeats of one ``hwmodels.evaluate``
call with all registered models and their default options (mission target:
under 1 ms). Pure Python; no torch.

    python benchmarks/hwmodels_speed.py [--layers 50] [--repeats 21]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import hwmodels
from hwmodels import LayerProfile, Profile


def profile(n_layers: int) -> Profile:
    """Alternating 3x3 convolutions and dense layers, direct-coded stem, LIF neurons."""
    layers = []
    for i in range(n_layers):
        conv = i % 2 == 0
        n_in, n_out = (16 * 32 * 32, 16 * 32 * 32) if conv else (1024, 1024)
        n_weights = 16 * 16 * 9 if conv else n_in * n_out
        macs = n_out * 16 * 9 if conv else n_weights
        layers.append(LayerProfile(
            name=f"l{i}", kind="conv2d" if conv else "dense", n_inputs=n_in, n_neurons=n_out,
            n_weights=n_weights, n_nonzero=n_weights // 2, weight_bits=4,
            neuron_params={"v_mem": (n_out, 8), "v_th": (1, 8), "decay": (1, 8)},
            macs_per_step=macs, fan_out=macs / n_in / 2, input_events=0.1 * n_in * 4,
            output_spikes=0.1 * n_out * 4, spiking_input=i > 0))
    return Profile(layers=tuple(layers), timesteps=4, coding="direct", accuracy=0.9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--number", type=int, default=200, help="calls per repeat")
    args = parser.parse_args()
    p = profile(args.layers)
    models = hwmodels.available()
    for _ in range(args.number):  # warm up: imports, caches
        hwmodels.evaluate(p)
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for _ in range(args.number):
            hwmodels.evaluate(p)
        times.append((time.perf_counter() - start) / args.number)
    print(json.dumps({
        "name": "hwmodels_evaluate_all_models",
        "value": round(statistics.median(times) * 1e3, 4),
        "unit": "ms",
        "config": {"layers": args.layers, "models": models, "metrics": len(hwmodels.evaluate(p)),
                   "repeats": args.repeats, "calls_per_repeat": args.number,
                   "python": platform.python_version()},
        "device": "cpu",
    }))


if __name__ == "__main__":
    main()
