"""Throughput of the TTFS engine: the surrogate DNN, the same network with ReLU, the simulator.

Prints one JSON line per figure (name, value, unit, config, device):

- ``ttfs_surrogate_train``: training samples/s of the surrogate DNN (eq. 5
  activation, forward + backward + Adam step);
- ``relu_train``: the same network (same BN, same layers) with ReLU;
- ``ttfs_surrogate_over_relu``: the ratio of their step times (target <= 2);
- ``ttfs_simulator``: samples/s of the event-driven simulator of the frozen
  network, batched over samples;
- ``ttfs_surrogate_infer``: samples/s of the frozen surrogate in closed form.

Each figure warms up, synchronises CUDA before reading the clock, and takes the
median of ``--repeats`` timed runs.

    python benchmarks/ttfs_speed.py --device cpu
    python benchmarks/ttfs_speed.py --device cuda --batch-size 512
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

from dse.engines import DataShape
from dse.engines.optim import Adam
from dse.engines.runtime import resolve_device
from dse.engines.ttfs.model import TTFSNet, infer
from dse.engines.ttfs.simulator import simulate
from dse.design import make_design


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device: torch.device, steps: int, repeats: int) -> float:
    """Median seconds of `steps` calls of fn, after one warm-up round."""
    for _ in range(max(2, steps // 4)):
        fn()
    sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            fn()
        sync(device)
        times.append((time.perf_counter() - start) / steps)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--hidden", default="256,256", help="dense widths, comma-separated")
    parser.add_argument("--conv", default="", help="conv cfg, comma-separated (0 = 2x2 max-pool)")
    parser.add_argument("--image", default="1,8,8", help="input C,H,W (digits: 1,8,8)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    ints = lambda s: tuple(int(v) for v in s.split(",") if v.strip())  # noqa: E731
    design = make_design("ttfs", {"hidden": ints(args.hidden), "conv": ints(args.conv)})
    shape = DataShape(ints(args.image), 10)
    torch.manual_seed(0)
    x = torch.rand(args.batch_size, *shape.shape, device=device)
    y = torch.randint(0, 10, (args.batch_size,), device=device)
    config = {"hidden": list(design.hidden), "conv": list(design.conv), "image": list(shape.shape),
              "batch_size": args.batch_size, "window": design.window, "threads": torch.get_num_threads()}

    def emit(name: str, value: float, unit: str) -> None:
        print(json.dumps({"name": name, "value": round(value, 3), "unit": unit, "config": config,
                          "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device)}),
              flush=True)

    step_seconds = {}
    for activation in ("ttfs", "relu"):
        model = TTFSNet(design, shape).to(device).train()
        optimizer = Adam(model.parameters(), lr=1e-3)

        def step() -> None:
            loss = F.cross_entropy(model(x, activation=activation), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        step_seconds[activation] = timed(step, device, args.steps, args.repeats)
    emit("ttfs_surrogate_train", args.batch_size / step_seconds["ttfs"], "samples/s")
    emit("relu_train", args.batch_size / step_seconds["relu"], "samples/s")
    emit("ttfs_surrogate_over_relu", step_seconds["ttfs"] / step_seconds["relu"], "x")

    model.eval()
    frozen = model.freeze()
    sim_seconds = timed(lambda: simulate(frozen, x), device, max(1, args.steps // 4), args.repeats)
    emit("ttfs_simulator", args.batch_size / sim_seconds, "samples/s")
    infer_seconds = timed(lambda: infer(frozen, x), device, args.steps, args.repeats)
    emit("ttfs_surrogate_infer", args.batch_size / infer_seconds, "samples/s")


if __name__ == "__main__":
    main()
