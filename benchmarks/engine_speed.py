"""Training speed of the surrogate engine against snnTorch and SpikingJelly.

The reference network of issue 5, the same in every implementation: dense
64-256-10, direct coding (the analog image at every step), a hidden layer of
LIF neurons (decay 0.5, threshold 1, hard reset to 0, reset detached from the
graph, ATan surrogate with alpha = 2) and the LitE-SNN readout
``logits = mean_t fc2(s_t)``; cross-entropy, Adam lr 1e-3, batch 128, digits.

Each (implementation, T) runs in a fresh Python process, after imports and
data loading (paid once per study, not per trial). The clocks are set against
snn-dse: its figure counts everything a 15-epoch digits trial pays in that fresh
process (building the model, loading the fused kernel, the first epoch, the
validation pass after every epoch); "dse-cold" also builds the kernel from an
empty cache. The peers are timed at steady state: their model and optimizer
are built and one warm-up epoch is run before their clock starts. One JSON
line per implementation and T on stdout:

    {"impl": "dse", "T": 25, "train_samples_per_s": ..., "infer_samples_per_s": ...,
     "test_accuracy": ..., "peak_rss_mb": ..., "epochs": 15, "device": "cpu", "threads": 2}

then the speed-up of dse over each peer per T.

Peers are benchmark dependencies only. Install them beside torch 2.13 without
letting pip touch torch (SpikingJelly's declared torchvision/torchaudio are not
needed to import its activation_based package)::

    pip install --no-deps snntorch==1.0.0 spikingjelly==2.0.0
    pip install -c <(echo torch==2.13.0) loguru h5py matplotlib scipy

Run: ``python benchmarks/engine_speed.py [--epochs 15] [--timesteps 8 25] [--device cpu]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

IMPLS = ("dse", "dse-cold", "snntorch", "spikingjelly")
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


def child(impl: str, steps: int, epochs: int, device_name: str, seed: int) -> dict:
    import tempfile

    import torch

    from dse.data import load_dataset
    from dse.engines import Budget
    from dse.engines.surrogate.engine import fit
    from dse.design import make_design

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    device = torch.device(device_name)
    x, y, xt, yt = _data(device)
    digits = load_dataset("digits")
    sync = (lambda: torch.cuda.synchronize()) if device.type == "cuda" else (lambda: None)  # noqa: E731
    if impl.startswith("dse"):
        if impl == "dse-cold":  # an empty kernel cache: the build is paid inside the clock
            os.environ["DSE_CACHE_DIR"] = tempfile.mkdtemp()
        started = time.perf_counter()
        design = make_design("surrogate", {"hidden": (HIDDEN,), "timesteps": steps, "decay": DECAY,
                                           "threshold": THRESHOLD, "surrogate": "atan", "reset": "hard",
                                           "coding": "direct"})
        trained = fit(design, digits, Budget(epochs=epochs, batch_size=BATCH, lr=LR, seed=seed,
                                             device=device_name), lambda e, a: None)
        sync()
        train_seconds = time.perf_counter() - started
        model = trained.model

        def infer(xb):
            return model(xb.reshape(-1, *digits.shape), steps, model.frozen, model.neuron_config(False))
    else:
        forward, params = (run_snntorch if impl == "snntorch" else run_spikingjelly)(steps, device, seed)
        train = _trainer(forward, params, x, y, device, seed)
        train(1)  # warm-up epoch, not timed: the peers' steady state
        sync()
        started = time.perf_counter()
        train(epochs)
        sync()
        train_seconds = time.perf_counter() - started
        infer = forward
    with torch.no_grad():
        infer(xt[:256])  # warm-up of the inference path only
        sync()
        t0 = time.perf_counter()
        repeats = 5
        for _ in range(repeats):
            correct = sum(int((infer(xt[i:i + 1024]).argmax(1) == yt[i:i + 1024]).sum())
                          for i in range(0, len(yt), 1024))
        sync()
        infer_seconds = (time.perf_counter() - t0) / repeats
    return {
        "impl": impl, "T": steps,
        "train_samples_per_s": round(epochs * len(y) / train_seconds, 1),
        "infer_samples_per_s": round(len(yt) / infer_seconds, 1),
        "test_accuracy": round(correct / len(yt), 4),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "epochs": epochs, "device": device_name, "threads": torch.get_num_threads(),
        "train_seconds": round(train_seconds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--timesteps", type=int, nargs="+", default=[8, 25])
    parser.add_argument("--impls", nargs="+", default=list(IMPLS), choices=IMPLS)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", nargs=2, metavar=("IMPL", "T"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), args.epochs, args.device, args.seed)))
        return
    results = []
    for steps in args.timesteps:
        for impl in args.impls:
            cmd = [sys.executable, __file__, "--child", impl, str(steps), "--epochs", str(args.epochs),
                   "--device", args.device, "--seed", str(args.seed)]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(f"{impl} at T={steps} failed:\n{out.stderr.strip()}")
            line = json.loads(out.stdout.strip().splitlines()[-1])
            results.append(line)
            print(json.dumps(line), flush=True)
    for steps in args.timesteps:
        by = {r["impl"]: r for r in results if r["T"] == steps}
        for ours in ("dse", "dse-cold"):
            for peer in ("snntorch", "spikingjelly"):
                if ours in by and peer in by:
                    print(json.dumps({"name": f"train_speedup_{ours}_vs_{peer}", "T": steps,
                                      "value": round(by[ours]["train_samples_per_s"]
                                                     / by[peer]["train_samples_per_s"], 2),
                                      "unit": "x", "device": args.device}), flush=True)


if __name__ == "__main__":
    main()
