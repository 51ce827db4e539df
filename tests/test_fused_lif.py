"""The C kernel of the LIF time loop equals the PyTorch loop, forward and backward."""

import itertools
import json
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
import torch

from dse.engines.quant import Grid
from dse.engines.surrogate.fused import FusedLIF, library, lif
from dse.engines.surrogate.neurons import NeuronConfig, lif_sequence

pytestmark = pytest.mark.skipif(library() is None, reason="no C compiler: the PyTorch loop runs instead")

STATE = Grid(delta=1 / 32, kmin=-128, kmax=127)
CASES = [
    (surrogate, hard, grid, rounding, constant, rate)
    for surrogate, hard, (grid, rounding), constant, rate in itertools.product(
        ["atan", "fast-sigmoid", "dspike"], [True, False],
        [(None, "nearest"), (STATE, "truncate"), (STATE, "nearest"), (STATE, "stochastic")],
        [True, False], [True, False])
]


@pytest.mark.parametrize("surrogate, hard, grid, rounding, constant, rate", CASES)
def test_kernel_equals_the_pytorch_loop(surrogate, hard, grid, rounding, constant, rate) -> None:
    g = torch.Generator().manual_seed(zlib.crc32(f"{surrogate}{hard}{grid}{rounding}{constant}{rate}".encode()))
    scale = {"atan": 2.0, "fast-sigmoid": 25.0, "dspike": 3.0}[surrogate]
    cfg = NeuronConfig(decay=0.75, threshold=1.0, hard_reset=hard, surrogate=surrogate, scale=scale,
                       state_grid=grid, rounding=rounding)
    steps, shape = 6, (5, 37)
    # dyadic currents and decay: every membrane value is exact in float32, so whether a
    # compiler fuses multiply and add cannot move a value across the threshold
    size = shape if constant else (steps, *shape)
    current = (torch.randint(0, 104, size, generator=g) / 64).requires_grad_(True)
    noise = torch.rand(steps, *shape, generator=g) if rounding == "stochastic" and grid else None
    fused = FusedLIF.apply(current, steps, cfg, noise, rate, constant)
    upstream = torch.randn(fused.shape, generator=g)
    (fused * upstream).sum().backward()
    grad_fused, current.grad = current.grad.clone(), None
    spikes = lif_sequence(current, steps, cfg, noise)
    reference = spikes.mean(0) if rate else spikes
    (reference * upstream).sum().backward()
    assert torch.equal(fused, reference)
    assert torch.allclose(grad_fused, current.grad, rtol=1e-4, atol=1e-6)


def test_lif_uses_the_pytorch_loop_for_other_dtypes() -> None:
    cfg = NeuronConfig(decay=0.5, threshold=1.0, hard_reset=True, surrogate="atan", scale=2.0)
    x = torch.rand(3, 4, dtype=torch.float64)
    assert torch.equal(lif(x, 5, cfg), lif_sequence(x, 5, cfg))


def test_without_the_kernel_the_engine_still_trains(tmp_path) -> None:
    code = ("import os; from dse.engines.surrogate.fused import library; assert library() is None; "
            "from dse.data import load_dataset; from dse.engines import Budget, get; "
            "from dse.design import make_design; "
            "out = get('surrogate').run(make_design('surrogate', {'hidden': (32,), 'timesteps': 4}), "
            "load_dataset('digits'), Budget(epochs=3), lambda e, a: None); assert out.accuracy > 0.5")
    env = {"DSE_NO_FUSED": "1", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0


RACE = """
import json, os, sys, time
from pathlib import Path
from dse.engines.surrogate import fused
tmp = Path(sys.argv[1])
(tmp / f"ready-{os.getpid()}").touch()
while not (tmp / "go").exists():
    time.sleep(0.005)
status = fused.kernel_status()
print(json.dumps({"path": status.path, "built": status.built, "reason": status.reason}))
"""


@pytest.mark.parametrize("processes", [6])
def test_processes_starting_together_on_an_empty_cache_all_get_the_kernel(tmp_path, processes) -> None:
    """Workers or benchmarks that start at once on an empty cache: one builds, the
    others wait and load its library; none falls back to the torch loop."""
    cache = tmp_path / "cache"
    env = {**os.environ, "DSE_CACHE_DIR": str(cache), "PYTHONPATH": str(Path(__file__).parents[1])}
    env.pop("DSE_NO_FUSED", None)
    children = [subprocess.Popen([sys.executable, "-W", "error::RuntimeWarning", "-c", RACE, str(tmp_path)],
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(processes)]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("ready-*"))) < processes and time.monotonic() < deadline:
        time.sleep(0.01)
    (tmp_path / "go").touch()  # all of them past `import torch`, asking for the kernel at once
    results = []
    for child in children:
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert [r["path"] for r in results] == ["c-kernel"] * processes, results
    assert sum(r["built"] for r in results) == 1, results  # the lock: one compiler run, not six
    assert [p.name for p in (cache / "kernels").iterdir() if p.suffix == ".so"] != []
    assert not [p for p in (cache / "kernels").iterdir() if p.is_dir()]  # no temporary left behind
