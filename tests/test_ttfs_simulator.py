"""The event-driven TTFS simulator: the dynamic threshold by hand, a hand-wired network, one
spike per neuron, event counts, and agreement with the frozen surrogate spike by spike."""

import math
from dataclasses import replace

import pytest
import torch

from dse.data import load_dataset
from dse.engines import Budget, DataShape
from dse.engines.activity import Activity
from dse.engines.runtime import tensors
from dse.engines.ttfs.engine import fit, measure
from dse.engines.ttfs.model import Frozen, infer, pool_times
from dse.engines.ttfs.shapes import plan
from dse.engines.ttfs.kernel import kernel_table, spike_time
from dse.engines.ttfs.simulator import fire, simulate, synapses_per_input
from dse.design import make_design

F64 = torch.float64


def quiet(step: int, accuracy: float) -> None:
    pass


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_fire_phase_follows_the_dynamic_threshold_by_hand() -> None:
    x_m = math.exp(-3.1)
    v = torch.tensor([2.0, 1.0, 0.5, x_m * 1.0001, x_m * 0.9999, 0.0, -1.0], dtype=F64)
    times, emitted = fire(v, torch.tensor(10.0, dtype=F64), torch.tensor(0.0, dtype=F64), 1.0, 32)
    # V >= e^(-t/10): 0.5 first at t = ceil(10 ln 2) = 7; below e^-3.1 never within 32 steps
    assert times.tolist() == [0, 0, 7, 31, 32, 32, 32]
    assert emitted.tolist() == [1, 1, 1, 1, 0, 0, 0]


@pytest.mark.parametrize("t_d", [0.0, 8.05e-18, -3e-9, 0.37])
def test_values_on_a_threshold_level_fire_at_that_step_in_both_models(t_d) -> None:
    """A pixel of exactly 1.0 with t_d = 8e-18 (a trained input kernel) sits on the t = 0
    threshold: ln and exp round it to different sides, the threshold table does not."""
    tau, td = torch.tensor(10.0158), torch.tensor(t_d)
    levels = kernel_table(tau, td, 32)[:32]
    z = torch.cat([levels, torch.tensor([1.0, 0.5, 0.0625]), levels * (1 + 1e-6), levels * (1 - 1e-6)])
    simulated, _ = fire(z, tau, td, 1.0, 32)
    assert torch.equal(spike_time(z, tau, td, 1.0, 32), simulated)
    assert simulated[:32].tolist() == list(range(32))  # a value on level n fires at n


def hand_network() -> Frozen:
    """2 inputs -> 2 hidden -> 2 outputs, weights chosen to hit every region."""
    design = make_design("ttfs", {"hidden": (2,)})
    layers = plan(design, DataShape((1, 1, 2), 2))
    weights = [torch.tensor([[1.0, 1.0], [0.5, -1.0]], dtype=F64), torch.eye(2, dtype=F64)]
    biases = [torch.tensor([0.0, 0.2], dtype=F64), torch.zeros(2, dtype=F64)]
    return Frozen(layers, weights, biases, torch.tensor([10.0, 10.0], dtype=F64),
                  torch.tensor([0.0, 0.0], dtype=F64), 32, 1.0)


def test_hand_wired_network_spike_by_spike() -> None:
    net = hand_network()
    x = torch.tensor([[[[1.0, math.exp(-0.5)]]]], dtype=F64)
    counts = Activity.empty(2)
    sim = simulate(net, x, counts)
    # input: pixel 1 -> t = 0 (kernel e^0 = 1); e^-0.5 -> t = 5 (kernel e^-0.5)
    assert sim.times[0].flatten().tolist() == [0, 5]
    # hidden: V1 = 1 + e^-0.5 >= x_M -> t = 0; V2 = 0.5 - e^-0.5 + 0.2 -> t = ceil(-10 ln V2)
    v2 = 0.7 - math.exp(-0.5)
    assert sim.times[1].flatten().tolist() == [0, math.ceil(-10 * math.log(v2))] == [0, 24]
    # readout integrates the decoded hidden spikes: [e^0, e^-2.4]
    assert sim.potentials.flatten().tolist() == pytest.approx([1.0, math.exp(-2.4)])
    assert counts.input_events == [2, 2] and counts.output_spikes == [2, 0]
    assert counts.synops == [4, 2]  # fc1: each input drives 2 nonzero synapses; readout: identity
    logits, times = infer(net, x)
    assert torch.allclose(logits, sim.potentials)
    assert all(torch.equal(a, b) for a, b in zip(times, sim.times))


def test_analog_input_is_added_once_and_sends_no_spikes() -> None:
    net = replace(hand_network(), analog_input=True)
    x = torch.tensor([[[[0.5, 0.25]]]], dtype=F64)
    counts = Activity.empty(2)
    sim = simulate(net, x, counts)
    # hidden: V = W x + b = [0.75, 0.25 - 0.25 + 0.2] -> t = ceil(-10 ln V)
    assert sim.times[0].flatten().tolist() == [math.ceil(-10 * math.log(0.75)), math.ceil(-10 * math.log(0.2))] \
        == [3, 17]
    assert sim.potentials.flatten().tolist() == pytest.approx([math.exp(-0.3), math.exp(-1.7)])
    assert counts.input_events == [0, 2] and counts.synops == [0, 2] and counts.output_spikes == [2, 0]
    logits, times = infer(net, x)
    assert len(times) == 1 and torch.equal(times[0], sim.times[0])
    assert torch.allclose(logits, sim.potentials)


def test_pooling_passes_the_earliest_spike() -> None:
    t = torch.tensor([[[[3.0, 7.0], [32.0, 1.0]]]])
    assert pool_times(t).flatten().tolist() == [1.0]
    assert pool_times(torch.full((1, 1, 2, 2), 32.0)).flatten().tolist() == [32.0]  # silent stays silent


def test_conv_synapses_per_input_by_brute_force() -> None:
    design = make_design("ttfs", {"conv": (3,), "hidden": ()})
    layers = plan(design, DataShape((2, 4, 4), 10))
    g = torch.Generator().manual_seed(0)
    w = torch.randn(3, 2, 3, 3, generator=g) * (torch.rand(3, 2, 3, 3, generator=g) > 0.5)
    net = Frozen(layers, [w, torch.zeros(10, 48)], [torch.zeros(3), torch.zeros(10)],
                 torch.ones(2) * 10, torch.zeros(2), 32, 1.0)
    counts = synapses_per_input(net, 0)
    expected = torch.zeros(2, 4, 4)
    for co in range(3):
        for y in range(4):
            for x in range(4):  # output (co, y, x) reads input (ci, y + dy - 1, x + dx - 1)
                for ci in range(2):
                    for dy in range(3):
                        for dx in range(3):
                            iy, ix = y + dy - 1, x + dx - 1
                            if 0 <= iy < 4 and 0 <= ix < 4 and w[co, ci, dy, dx] != 0:
                                expected[ci, iy, ix] += 1
    assert torch.equal(counts, expected)


@pytest.fixture(scope="module", params=["dense", "conv"])
def trained(request, digits):
    """A dense network with analog input (the default) and a conv one with TTFS-coded pixels."""
    keys = {"hidden": (64, 32)} if request.param == "dense" else {"conv": (8, 0, 16), "hidden": (32,),
                                                                  "input_coding": "ttfs"}
    design = make_design("ttfs", {**keys, "relaxation": 3})
    return design, fit(design, digits, Budget(epochs=6, lr=1e-3, seed=0, extra={"kernel_epoch": 3}), quiet)


def test_simulator_agrees_with_the_surrogate(trained, digits) -> None:
    design, t = trained
    x, y = tensors(digits.x_test, digits.y_test, t.device)
    m = measure(t.model, design, digits, x, y)
    assert m.agreement >= 0.99
    assert m.spike_agreement >= 0.999
    assert m.profile.accuracy == pytest.approx(m.surrogate_accuracy, abs=0.01)
    assert m.profile.accuracy > 0.5


def test_at_most_one_spike_per_neuron(trained, digits) -> None:
    design, t = trained
    net = t.model.frozen
    x = torch.from_numpy(digits.x_test[:100])
    counts = Activity.empty(len(net.plan))
    sim = simulate(net, x, counts)
    assert len(sim.times) == len(net.plan) - net.analog_input  # the input population only when it spikes
    for layer, times in enumerate(sim.times[-(len(net.plan) - 1):]):  # the hidden populations
        fired = int((times < net.window).sum())
        assert counts.output_spikes[layer] == fired  # spikes emitted = neurons that fired
        assert fired <= times.numel()  # neurons x samples
    # the dynamic threshold keeps falling: without the refractory period a neuron that fires
    # would fire again at every later step
    first = net.op(0, _decoded_input(net, x))
    times, emitted = fire(first, *net.kernel(1), net.theta0, net.window)
    assert emitted.max() == 1 and torch.equal(emitted, (times < net.window).to(emitted.dtype))
    crossings = sum((first >= net.theta0 * torch.exp(-(s - net.t_d[1]) / net.tau[1])).sum()
                    for s in range(net.window))
    assert crossings > emitted.sum()


def _decoded_input(net: Frozen, x: torch.Tensor) -> torch.Tensor:
    from dse.engines.ttfs.kernel import decode, spike_time

    v = x if net.plan[0].kind == "conv2d" else x.flatten(1)
    if net.analog_input:
        return v
    return decode(spike_time(v, *net.kernel(0), net.theta0, net.window), *net.kernel(0), net.window)
