"""STDP training and inference speed: snn-dse's ``stdp`` engine against BindsNET.

Both train the same Diehl & Cook network (64 Poisson inputs, 100 excitatory and
100 inhibitory neurons, 250 steps of 1 ms per sample, pair STDP, weight
normalisation) on the digits training split for one pass, samples one at a
time in the same shuffled order, with the same constants and the engine's
small-data defaults (input rate, norm, theta_plus, inhibition; README, "STDP
engine"). Then each labels its neurons on the training split and classifies the
test split by the labelled vote (learning off). One JSON line per
implementation::

    {"impl": "dse", "train_samples_per_s": ..., "infer_samples_per_s": ...,
     "test_accuracy": ..., ...}

``train_samples_per_s`` times the learning pass alone (no monitors, no
evaluation); ``infer_samples_per_s`` the labelling and test passes together.
Both get a short warm-up on a throwaway network and run on the same number of
intra-op threads (``--threads``, default 1: the tensors are tiny). BindsNET
runs its examples' way, one sample per ``Network.run`` with batch size 1.

BindsNET 0.3.4 declares torch>=2.14 and, through ``bindsnet/__init__``, imports
torchvision, gymnasium, ale-py and OpenCV; none of them are needed for this
network. Install it beside torch 2.13 without its dependencies::

    pip install --no-deps bindsnet==0.3.4

and this script loads ``bindsnet.network``, ``bindsnet.models``,
``bindsnet.encoding`` and ``bindsnet.evaluation`` without running the package's
``__init__`` (their own imports are torch, numpy, scipy and scikit-learn, which
snn-dse already installs). Run::

    python benchmarks/stdp_speed.py [--device cpu|cuda] [--threads 1] [--passes 1]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
import time
import types

import torch

from dse.data import load_dataset
from dse.engines.runtime import device_generator, resolve_device
from dse.engines.stdp.engine import spike_counts
from dse.engines.stdp.network import Network
from dse.engines.stdp.params import EXC_TO_INH, Setup
from dse.engines.stdp.readout import assign_labels, predict
from dse.design import make_design

N_NEURONS = 100
STEPS = 250
WARMUP = 5


def load_bindsnet():
    """BindsNET's network, model, encoder and evaluation modules; exit 1 saying how to install it if missing."""
    spec = importlib.util.find_spec("bindsnet")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("error: BindsNET is not installed; install it beside torch 2.13 with\n"
                 "    pip install --no-deps bindsnet==0.3.4\n"
                 "(see this script's docstring)")
    if "bindsnet" not in sys.modules:  # skip bindsnet/__init__ (torchvision, gymnasium, OpenCV)
        package = types.ModuleType("bindsnet")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules["bindsnet"] = package
    import bindsnet.network  # noqa: F401  (first: the other modules import it back)
    from bindsnet.encoding import poisson
    from bindsnet.evaluation import all_activity
    from bindsnet.evaluation import assign_labels as bn_assign_labels
    from bindsnet.models import DiehlAndCook2015
    from bindsnet.network.monitors import Monitor

    return types.SimpleNamespace(DiehlAndCook2015=DiehlAndCook2015, poisson=poisson, Monitor=Monitor,
                                 assign_labels=bn_assign_labels, all_activity=all_activity)


def split(data, device):
    def flat(x):
        return torch.from_numpy(x).reshape(len(x), -1).to(device)

    return flat(data.x_train), torch.from_numpy(data.y_train).to(device), flat(data.x_test), \
        torch.from_numpy(data.y_test).to(device)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def figures(trained: int, train_s: float, inferred: int, infer_s: float, prediction: torch.Tensor,
            labels: torch.Tensor, assignment: torch.Tensor) -> dict:
    return {"train_samples_per_s": trained / train_s, "infer_samples_per_s": inferred / infer_s,
            "test_accuracy": float((prediction == labels).float().mean()),
            "labelled_neurons": float((assignment >= 0).float().mean())}


def run_dse(setup: Setup, data, order: list[int], device: torch.device, passes: int) -> dict:
    x_train, y_train, x_test, y_test = split(data, device)
    warm = Network(setup, x_train.shape[1], device, device_generator(device, 99))
    for i in order[:WARMUP]:
        warm.learn(warm.encode(x_train[i], STEPS))
    spike_counts(warm, x_test[:8], STEPS)
    net = Network(setup, x_train.shape[1], device, device_generator(device, 0))
    sync(device)
    started = time.perf_counter()
    for _ in range(passes):
        for i in order:
            net.learn(net.encode(x_train[i], STEPS))
    sync(device)
    train_s = time.perf_counter() - started
    started = time.perf_counter()
    assignment = assign_labels(spike_counts(net, x_train, STEPS), y_train, data.n_classes)
    prediction = predict(spike_counts(net, x_test, STEPS), assignment, data.n_classes)
    sync(device)
    infer_s = time.perf_counter() - started
    return figures(passes * len(order), train_s, len(y_train) + len(y_test), infer_s, prediction, y_test,
                   assignment)


def run_bindsnet(bn, setup: Setup, data, order: list[int], device: torch.device, passes: int) -> dict:
    x_train, y_train, x_test, y_test = split(data, device)

    def build():
        net = bn.DiehlAndCook2015(
            n_inpt=x_train.shape[1], n_neurons=N_NEURONS, exc=EXC_TO_INH, inh=setup.inhibition, dt=1.0,
            nu=(setup.nu_pre, setup.nu_post), norm=setup.norm, theta_plus=setup.theta_plus)
        return net.to(device)

    def present(net, x):
        spikes = bn.poisson(datum=x * setup.input_rate, time=STEPS, dt=1.0, device=device)
        net.run(inputs={"X": spikes.view(STEPS, 1, -1)}, time=STEPS)

    torch.manual_seed(99)
    warm = build()
    for i in order[:WARMUP]:
        present(warm, x_train[i])
        warm.reset_state_variables()
    torch.manual_seed(0)
    net = build()
    sync(device)
    started = time.perf_counter()
    for _ in range(passes):
        for i in order:
            present(net, x_train[i])
            net.reset_state_variables()
    sync(device)
    train_s = time.perf_counter() - started

    net.train(mode=False)
    monitor = bn.Monitor(net.layers["Ae"], ["s"], time=STEPS, device=device)
    net.add_monitor(monitor, name="Ae_spikes")

    def counts(x):
        rows = []
        for sample in x:
            present(net, sample)
            rows.append(monitor.get("s").view(STEPS, -1).sum(0).float())
            net.reset_state_variables()
        return torch.stack(rows)

    started = time.perf_counter()
    train_counts = counts(x_train)
    assignments, _, _ = bn.assign_labels(train_counts.unsqueeze(1), y_train, data.n_classes)
    prediction = bn.all_activity(counts(x_test).unsqueeze(1), assignments, data.n_classes)
    sync(device)
    infer_s = time.perf_counter() - started
    return figures(passes * len(order), train_s, len(y_train) + len(y_test), infer_s, prediction, y_test,
                   assignments)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads for both")
    parser.add_argument("--passes", type=int, default=1, help="passes over the training split")
    args = parser.parse_args()
    bn = load_bindsnet()  # fail before any work if BindsNET is missing
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    data = load_dataset("digits")
    setup = Setup.of(make_design("stdp", {"network": "diehl-cook", "n_neurons": N_NEURONS, "timesteps": STEPS}))
    order = torch.randperm(len(data.y_train), generator=torch.Generator().manual_seed(0)).tolist()
    config = {"network": "diehl-cook", "inputs": 64, "neurons": N_NEURONS, "steps": STEPS, "dataset": "digits",
              "train_samples": len(order), "passes": args.passes, "input_rate": setup.input_rate,
              "norm": setup.norm, "theta_plus": setup.theta_plus, "inhibition": setup.inhibition,
              "threads": args.threads}
    results = {"dse": run_dse(setup, data, order, device, args.passes),
               "bindsnet": run_bindsnet(bn, setup, data, order, device, args.passes)}
    for impl, figures in results.items():
        line = {"impl": impl, **{k: round(v, 4) if math.isfinite(v) else v for k, v in figures.items()},
                "device": str(device), "config": config}
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
