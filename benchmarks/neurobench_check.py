"""NeuroBench 2.3's own harness on an exported network against snn-dse's ``neurobench`` cost model.

A dense surrogate network is trained on digits (float32 weights and membranes, so a tensor's
bytes are what both count), exported as NIR (:mod:`dse.deploy.nir`), imported into snnTorch
(``import_from_nir``), wrapped as NeuroBench's ``SNNTorchModel`` and run by
``neurobench.benchmarks.Benchmark`` with Footprint, ConnectionSparsity, ActivationSparsity and
SynapticOperations on the test split, the engine's own input presented each step. The cost
model (:mod:`hwmodels.neurobench`) scores the profile the engine measured on the same split.
Prints one JSON line per metric (both values and their relative difference), then
``{"name": "neurobench_max_rel_diff", "value": R}``.

Install (NeuroBench pins old tonic/torchaudio ranges; without its dependencies it runs here)::

    pip install --no-deps neurobench==2.3.0
    pip install -c <(echo torch==2.13.0) tonic numba
    python benchmarks/neurobench_check.py   # about 20 s
"""

from __future__ import annotations

import argparse
import json

import torch

import hwmodels
from dse.data import load_dataset
from dse.deploy.nir import to_nir
from dse.engines import Budget, get

PAIRS = {  # NeuroBench result -> snn-dse metric
    "Footprint": "footprint_bytes",
    "ConnectionSparsity": "connection_sparsity",
    "ActivationSparsity": "activation_sparsity",
    "Dense": "dense_synops",
    "Effective_MACs": "effective_macs",
    "Effective_ACs": "effective_acs",
}


def harness(graph, x: torch.Tensor, y: torch.Tensor, steps: int) -> dict[str, float]:
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.static import ConnectionSparsity, Footprint
    from neurobench.metrics.workload import ActivationSparsity, SynapticOperations
    from neurobench.models import SNNTorchModel
    from snntorch.import_nir import import_from_nir

    model = SNNTorchModel(import_from_nir(graph))
    flat = x.reshape(len(x), -1)
    data = flat.unsqueeze(1).expand(len(x), steps, flat.shape[1]).contiguous()  # [B, T, N]: direct coding
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data, y), batch_size=len(y))
    bench = Benchmark(model, loader, [], [lambda out: out.sum(1).argmax(-1)],
                      [[Footprint, ConnectionSparsity], [ActivationSparsity, SynapticOperations]])
    results = bench.run(quiet=True)
    flat_results = {k: v for k, v in results.items() if not isinstance(v, dict)}
    flat_results.update(results["SynapticOperations"])
    return flat_results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[64])
    parser.add_argument("--timesteps", type=int, default=8)
    parser.add_argument("--pruning", type=float, default=0.5)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    data = load_dataset("digits")
    design = get("surrogate").design(hidden=tuple(args.hidden), timesteps=args.timesteps, coding="direct",
                                     weight_bits=32, neuron_bits=32, pruning=args.pruning)
    outcome = get("surrogate").run(design, data, Budget(epochs=args.epochs, seed=0), lambda step, acc: None)
    ours = hwmodels.evaluate(outcome.profile, "neurobench")
    theirs = harness(to_nir(outcome.network), torch.from_numpy(data.x_test), torch.from_numpy(data.y_test),
                     args.timesteps)
    worst = 0.0
    for name, metric in PAIRS.items():
        a, b = float(theirs[name]), float(ours[metric])
        rel = abs(a - b) / max(abs(a), abs(b)) if max(abs(a), abs(b)) else 0.0
        worst = max(worst, rel)
        print(json.dumps({"name": f"neurobench_{name}", "neurobench": a, "snn_dse": b, "rel_diff": rel}))
    print(json.dumps({"name": "neurobench_max_rel_diff", "value": worst}))


if __name__ == "__main__":
    main()
