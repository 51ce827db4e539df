"""Training speed of the surrogate engine against snnTorch and SpikingJelly.

The reference network of issue 5, the same in every implementation: dense
64-256-10, direct coding (the analog image at every step), a hidden layer of
LIF neurons (decay 0.5, threshold 1, hard reset to 0, reset detached from the
graph, ATan surrogate with alpha = 2) and the LitE-SNN readout
``logits = mean_t fc2(s_t)``; cross-entropy, Adam lr 1e-3, batch 128, digits.

How it measures, and why (issue 11: 0.3 s clocks gave dse 0.11x snnTorch in
2 of 6 runs on a shared 2-core machine):

* Each (implementation, T) lives in its own Python process, started once. It
  trains ``--epochs`` epochs untimed first (the warm-up: imports, allocator,
  the kernel load, the first epoch; its test accuracy is reported), then waits
  for orders.
* The parent runs ``--repeats`` rounds; in each, every implementation in turn
  (the order rotates) trains for at least ``--min-seconds`` and then infers for
  at least ``--min-seconds``. The processes not being timed sleep on a pipe, so
  a burst of load from other processes lands on all implementations alike,
  and a ratio is taken within each round.
* A figure is the median over rounds, with min and max (the spread).
* dse's training unit is a whole ``fit`` of ``--epochs`` epochs, i.e. what a
  trial pays: building the model, training, the validation pass after every
  epoch. The peers' unit is one bare training epoch. The clocks are thus set
  against dse.
* Threads: ``--threads`` torch threads per process, 1 by default. With 2
  threads on 2 cores that other processes share, every parallel region waits
  for a thread the scheduler has parked: a 15-epoch fit measured here took
  1.5-8.6 s with 2 threads against 0.2-0.7 s with 1, in the same minutes.
* The path dse's LIF layers took (``c-kernel`` or ``torch-loop``) comes from
  the engine's own count of calls, with the reason for a fallback.
* "dse_kernel_build_seconds" is what the first process on a machine pays once
  to compile the C kernel (later ones load it from the cache).

One JSON line per figure on stdout, e.g.::

    {"name": "dse_train_samples_per_s", "value": ..., "unit": "samples/s", "min": ..., "max": ...,
     "repeats": 5, "config": {"impl": "dse", "T": 8, "path": "c-kernel", ...}, "device": "cpu"}

then ``train_speedup_dse_vs_<peer>`` per T (median of the per-round ratios).

Peers are benchmark dependencies only. Install them beside torch 2.13 without
letting pip touch torch (SpikingJelly's declared torchvision/torchaudio are not
needed to import its activation_based package)::

    pip install --no-deps snntorch==1.0.0 spikingjelly==2.0.0
    pip install -c <(echo torch==2.13.0) loguru h5py matplotlib scipy

Run: ``python benchmarks/engine_speed.py [--epochs 15] [--timesteps 8 25] [--repeats 5]
[--min-seconds 2] [--threads 1] [--device cpu]``; about 5 minutes at these defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

IMPLS = ("dse", "snntorch", "spikingjelly")
HIDDEN, DECAY, THRESHOLD, ALPHA, LR, BATCH = 256, 0.5, 1.0, 2.0, 1e-3, 128


def _data(device):
    import torch

    from dse.data import load_dataset

    d = load_dataset("digits")
    t = lambda a: torch.from_numpy(a).to(device)  # noqa: E731
    return (t(d.x_train.reshape(len(d.x_train), -1)), t(d.y_train),
            t(d.x_test.reshape(len(d.x_test), -1)), t(d.y_test))


def _trainer(model_step, params, x, y, device, seed):
    """The plain training loop the peers share: shuffle, forward, CE, Adam. Returns
    a function that trains for a number of epochs."""
    import torch
    import torch.nn.functional as F

    opt = torch.optim.Adam(params, lr=LR)
    gen = torch.Generator().manual_seed(seed)

    def train(epochs: int) -> None:
        for _ in range(epochs):
            for index in torch.randperm(len(y), generator=gen).to(device).split(BATCH):
                loss = F.cross_entropy(model_step(x[index]), y[index])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()

    return train


def run_snntorch(steps, device, seed):
    import snntorch as snn
    import torch
    from snntorch import surrogate
    from torch import nn

    torch.manual_seed(seed)
    fc1, fc2 = nn.Linear(64, HIDDEN).to(device), nn.Linear(HIDDEN, 10).to(device)
    lif = snn.Leaky(beta=DECAY, threshold=THRESHOLD, spike_grad=surrogate.atan(alpha=ALPHA),
                    reset_mechanism="zero").to(device)

    def forward(x):
        mem = lif.init_leaky()
        out = 0
        for _ in range(steps):
            spk, mem = lif(fc1(x), mem)
            out = out + fc2(spk)
        return out / steps

    return forward, [*fc1.parameters(), *fc2.parameters()]


def run_spikingjelly(steps, device, seed):
    import torch
    from spikingjelly.activation_based import functional, layer, neuron, surrogate
    from torch import nn

    torch.manual_seed(seed)
    net = nn.Sequential(
        layer.Linear(64, HIDDEN),
        neuron.LIFNode(tau=1 / (1 - DECAY), decay_input=False, v_threshold=THRESHOLD, v_reset=0.0,
                       surrogate_function=surrogate.ATan(alpha=ALPHA), detach_reset=True),
        layer.Linear(HIDDEN, 10),
    ).to(device)
    functional.set_step_mode(net, "m")  # multi-step; 2.0 runs the torch backend (no backend argument)

    def forward(x):
        functional.reset_net(net)
        return net(x.unsqueeze(0).expand(steps, *x.shape)).mean(0)

    return forward, list(net.parameters())


def _for_at_least(seconds: float, unit, sync) -> tuple[int, float]:
    """Run `unit()` (which returns the samples it processed) until `seconds` have
    passed; (samples, elapsed)."""
    samples, started = 0, time.perf_counter()
    while True:
        samples += unit()
        sync()
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return samples, elapsed


def child(impl: str, steps: int, args) -> None:
    """Set up and warm up `impl`, report, then answer "train"/"infer"/"quit" on stdin."""
    import torch

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    sync = (lambda: torch.cuda.synchronize()) if device.type == "cuda" else (lambda: None)  # noqa: E731
    x, y, xt, yt = _data(device)
    started = time.perf_counter()
    if impl == "dse":
        from dse.data import load_dataset
        from dse.engines import Budget
        from dse.engines.surrogate import fused
        from dse.engines.surrogate.engine import fit
        from dse.design import make_design

        digits = load_dataset("digits")
        design = make_design("surrogate", {"hidden": (HIDDEN,), "timesteps": steps, "decay": DECAY,
                                           "threshold": THRESHOLD, "surrogate": "atan", "reset": "hard",
                                           "coding": "direct"})
        seed = [args.seed]

        def train_unit() -> int:  # one whole trial's training: model, epochs, validation passes
            trained = fit(design, digits, Budget(epochs=args.epochs, batch_size=BATCH, lr=LR, seed=seed[0],
                                                 device=args.device), lambda e, a: None)
            seed[0] += 1
            state["model"] = trained.model
            return args.epochs * len(y)

        state = {}

        def infer(xb):
            model = state["model"]
            return model(xb.reshape(-1, *digits.shape), steps, model.frozen, model.neuron_config(False))
    else:
        forward, params = (run_snntorch if impl == "snntorch" else run_spikingjelly)(steps, device, args.seed)
        train = _trainer(forward, params, x, y, device, args.seed)

        def train_unit() -> int:
            train(1)
            return len(y)

        infer = forward
    # warm-up, untimed: one training of --epochs epochs, as the accuracy figure's run
    if impl == "dse":
        train_unit()
    else:
        train(args.epochs)
    sync()
    warmup = time.perf_counter() - started

    def infer_unit() -> int:
        with torch.no_grad():
            for i in range(0, len(yt), 1024):
                infer(xt[i:i + 1024])
        return len(yt)

    with torch.no_grad():
        accuracy = sum(int((infer(xt[i:i + 1024]).argmax(1) == yt[i:i + 1024]).sum())
                       for i in range(0, len(yt), 1024)) / len(yt)
    ready = {"test_accuracy": round(accuracy, 4), "warmup_seconds": round(warmup, 3),
             "threads": torch.get_num_threads()}
    print(json.dumps(ready), flush=True)
    for order in sys.stdin:
        order = order.strip()
        if order == "quit":
            break
        samples, seconds = _for_at_least(args.min_seconds, train_unit if order == "train" else infer_unit, sync)
        print(json.dumps({"samples": samples, "seconds": seconds}), flush=True)
    final = {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    if impl == "dse":
        status = fused.kernel_status()
        ran = [path for path, count in fused.calls.items() if count]
        final.update(path="+".join(ran) or "none", kernel_reason=status.reason, lif_calls=dict(fused.calls))
    print(json.dumps(final), flush=True)


def kernel_build(args) -> list[float]:
    """Seconds per compile of the C kernel into an empty directory, one per repeat."""
    import tempfile
    from pathlib import Path

    from dse.engines.surrogate import fused

    compiler = fused._compiler()
    if compiler is None:
        return []

    def unit() -> int:
        with tempfile.TemporaryDirectory() as tmp:
            error = fused._build(compiler, Path(tmp) / "lif.so")
            if error:
                raise RuntimeError(error)
        return 1

    unit()  # warm-up: the compiler's own files into the page cache
    out = []
    for _ in range(args.repeats):
        builds, seconds = _for_at_least(args.min_seconds, unit, lambda: None)
        out.append(seconds / builds)
    return out


def _spread(values: list[float], digits: int = 1) -> dict:
    return {"value": round(statistics.median(values), digits), "min": round(min(values), digits),
            "max": round(max(values), digits), "repeats": len(values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15, help="per trial (dse) and for the warm-up")
    parser.add_argument("--timesteps", type=int, nargs="+", default=[8, 25])
    parser.add_argument("--impls", nargs="+", default=list(IMPLS), choices=IMPLS)
    parser.add_argument("--repeats", type=int, default=5, help="rounds; each figure is their median")
    parser.add_argument("--min-seconds", type=float, default=2.0, help="of each timed repeat")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", "1")),
                        help="torch threads per process")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-build", action="store_true", help="skip the kernel build figure")
    parser.add_argument("--child", nargs=2, metavar=("IMPL", "T"), help=argparse.SUPPRESS)
    parser.add_argument("--kernel-build", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args)
        return
    if args.kernel_build:
        print(json.dumps(kernel_build(args)))
        return
    common = {"epochs": args.epochs, "batch_size": BATCH, "threads": args.threads,
              "min_seconds": args.min_seconds, "network": f"64-{HIDDEN}-10"}

    def emit(name: str, unit: str, config: dict, figures: dict) -> None:
        print(json.dumps({"name": name, **figures, "unit": unit, "config": {**config, **common},
                          "device": args.device}), flush=True)

    passed = [sys.executable, __file__, "--epochs", str(args.epochs), "--repeats", str(args.repeats),
              "--min-seconds", str(args.min_seconds), "--threads", str(args.threads), "--device", args.device,
              "--seed", str(args.seed)]
    for steps in args.timesteps:
        procs, ready = {}, {}
        for impl in args.impls:  # set up and warm up one at a time: none contends with another
            proc = subprocess.Popen([*passed, "--child", impl, str(steps)], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True)
            line = proc.stdout.readline()
            if not line:
                sys.exit(f"{impl} at T={steps} failed to start (see its stderr above)")
            procs[impl], ready[impl] = proc, json.loads(line)

        def order(impl: str, what: str) -> float:
            procs[impl].stdin.write(what + "\n")
            procs[impl].stdin.flush()
            reply = json.loads(procs[impl].stdout.readline())
            return reply["samples"] / reply["seconds"]

        train = {impl: [] for impl in args.impls}
        infer = {impl: [] for impl in args.impls}
        for r in range(args.repeats):
            turn = args.impls[r % len(args.impls):] + args.impls[:r % len(args.impls)]
            for impl in turn:
                train[impl].append(order(impl, "train"))
                infer[impl].append(order(impl, "infer"))
        for impl in args.impls:
            procs[impl].stdin.write("quit\n")
            procs[impl].stdin.flush()
            final = json.loads(procs[impl].stdout.readline())
            procs[impl].wait()
            config = {"impl": impl, "T": steps, **ready[impl], **final}
            if impl == "dse":
                config["train_unit"] = f"fit() of {args.epochs} epochs incl. model build and validation"
            else:
                config["train_unit"] = "one training epoch"
            emit(f"{impl}_train_samples_per_s", "samples/s", config, _spread(train[impl]))
            emit(f"{impl}_infer_samples_per_s", "samples/s", {"impl": impl, "T": steps}, _spread(infer[impl]))
        if "dse" in train:
            for peer in args.impls:
                if peer != "dse":
                    ratios = [ours / theirs for ours, theirs in zip(train["dse"], train[peer])]
                    emit(f"train_speedup_dse_vs_{peer}", "x", {"T": steps, "paired_by": "round"},
                         _spread(ratios, 2))
    if "dse" in args.impls and not args.no_build:
        out = subprocess.run([*passed, "--kernel-build"], capture_output=True, text=True, check=True)
        builds = json.loads(out.stdout.strip().splitlines()[-1])
        if builds:
            emit("dse_kernel_build_seconds", "s", {"note": "once per machine; later processes load the cache"},
                 _spread(builds, 3))


if __name__ == "__main__":
    main()
