"""The STDP networks' equations, checked by hand, and the event-driven path against the reference."""

import math

import pytest
import torch

from dse.engines.quant import Grid, fixed_point, quantize
from dse.engines.stdp.network import Counts, Network, Ranges
from dse.engines.stdp.presentation import input_traces
from dse.engines.stdp.params import EXC, INH, TAU_THETA, TAU_TRACE, Setup
from dse.design import make_design

D = math.exp(-1.0 / TAU_TRACE)  # trace decay per step


def network(n_inputs: int = 2, dtype=torch.float64, seed: int = 0, extra=None, **design) -> Network:
    setup = Setup.of(make_design("stdp", design), extra or {})
    return Network(setup, n_inputs, torch.device("cpu"), torch.Generator().manual_seed(seed), dtype=dtype)


def two_neuron(net_name: str) -> Network:
    """Two inputs, one excitatory neuron, W = [0.5, 0.2], a low threshold (0.4 mV above
    rest) so the neuron fires on the first input it sees, and a reset to rest (below it)."""
    net = network(network=net_name, n_neurons=1, update_interval=2, timesteps=4)
    net.w = torch.tensor([[0.5], [0.2]], dtype=torch.float64)
    net.vth.fill_(0.4)
    net.reset_exc = 0.0
    return net


# input 0 fires at steps 0 and 3, input 1 at step 1
SPIKES = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [1.0, 0.0]], dtype=torch.float64)


def present(net: Network, how: str) -> None:
    if how == "reference":
        net.simulate(SPIKES.unsqueeze(1), learning=True)
    else:
        net.learn(SPIKES)


@pytest.mark.parametrize("how", ["reference", "event-driven"])
def test_pair_stdp_matches_a_hand_computed_two_neuron_case(how) -> None:
    net = two_neuron("diehl-cook")
    nu_pre, nu_post, norm = net.setup.nu_pre, net.setup.nu_post, net.setup.norm
    present(net, how)
    # step 1: the input spike of step 0 (w = 0.5 >= 0.4) makes the neuron fire; x_post = 1,
    #   input 1 fires now (depressed by nu_pre * 1), then both inputs are potentiated by
    #   nu_post * x_pre, with x_pre = (d, 1) (input 0 fired one step ago, input 1 now).
    # step 2: refractory, no input spike. step 3: input 0 fires, x_post = d^2: depressed.
    w0 = 0.5 + nu_post * D - nu_pre * D**2
    w1 = 0.2 - nu_pre + nu_post
    expected = torch.tensor([[w0], [w1]], dtype=torch.float64) * norm / (w0 + w1)
    assert torch.allclose(net.w, expected, rtol=0, atol=1e-12)
    # the threshold rose by theta_plus once and decayed towards thresh for 4 steps
    theta = (0.4 - 13.0) * math.exp(-1 / TAU_THETA) ** 4 + net.setup.theta_plus * math.exp(-1 / TAU_THETA) ** 2
    assert float(net.vth) == pytest.approx(13.0 + theta, abs=1e-9)


@pytest.mark.parametrize("how", ["reference", "event-driven"])
def test_tinysnn_eq2_update_matches_a_hand_computed_case(how) -> None:
    net = two_neuron("tinysnn")
    eta, s_th, norm = net.setup.eta, net.setup.s_th, net.setup.norm
    present(net, how)
    # one spike at step 1 -> at the update instant t_u = 2 (end of step 1): k = 1 / S_th,
    # dw_i = k eta x_pre_i (1 - w_i) with x_pre = (d, 1); no spike in (2, 4]: no update.
    k = 1 / s_th
    w0 = 0.5 + k * eta * D * (1 - 0.5)
    w1 = 0.2 + k * eta * 1.0 * (1 - 0.2)
    expected = torch.tensor([[w0], [w1]], dtype=torch.float64) * norm / (w0 + w1)
    assert torch.allclose(net.w, expected, rtol=0, atol=1e-12)


def test_input_traces_are_one_on_a_spike_and_decay_by_d() -> None:
    spikes = torch.tensor([[0.0], [1.0], [0.0], [0.0], [1.0]])
    assert torch.allclose(input_traces(spikes, 0.5).flatten(), torch.tensor([0.0, 1.0, 0.5, 0.25, 1.0]))


@pytest.mark.parametrize("net_name", ["tinysnn", "diehl-cook"])
def test_lateral_inhibition_silences_competitors(net_name) -> None:
    """Three neurons with identical input; neuron 0 has the lowest threshold and wins.
    Without inhibition every neuron fires; with strong inhibition only the winner does."""

    def counts(inhibition: float) -> torch.Tensor:
        net = network(n_inputs=4, network=net_name, n_neurons=3, inhibition=inhibition)
        net.w = torch.full((4, 3), 0.5, dtype=torch.float64)
        net.vth = torch.tensor([8.0, 12.0, 12.0], dtype=torch.float64)
        spikes = torch.ones(100, 1, 4, dtype=torch.float64)
        return net.simulate(spikes)[0]

    free = counts(0.0)
    assert (free > 0).all()
    inhibited = counts(100.0)
    assert inhibited[0] > 0 and inhibited[1:].sum() == 0


def test_one_spike_per_step_and_input_arrives_one_step_late() -> None:
    net = network(n_inputs=1, network="tinysnn", n_neurons=4, inhibition=0.0)
    net.w = torch.full((1, 4), 20.0, dtype=torch.float64)  # any input spike crosses every threshold
    spikes = torch.zeros(3, 1, 1, dtype=torch.float64)
    spikes[1] = 1.0  # seen at step 2, the last step
    counts = Counts()
    total = net.simulate(spikes, counts=counts)
    assert float(total.sum()) == 1.0  # four neurons crossed, one spike kept
    assert counts.sums["input_events"] == 1 and counts.sums["exc_spikes"] == 1


@pytest.mark.parametrize("net_name, inhibition, steps, interval", [
    ("tinysnn", 17.5, 150, 30), ("diehl-cook", 17.5, 150, 30),
    ("tinysnn", 120.0, 37, 7), ("diehl-cook", 120.0, 37, 7),  # T not a multiple of T_u
])
def test_event_driven_learning_reproduces_the_step_by_step_reference(net_name, inhibition, steps, interval) -> None:
    """The closed-form quiet stretches give the same spikes, weights and thresholds."""
    gen = torch.Generator().manual_seed(3)
    images = torch.rand(6, 16, generator=gen, dtype=torch.float64)
    kw = dict(n_inputs=16, network=net_name, n_neurons=12, timesteps=steps, update_interval=interval,
              inhibition=inhibition, extra={"norm": 12.0, "theta_plus": 0.2})
    ref, fast = network(**kw), network(**kw)
    c_ref, c_fast = Counts(), Counts()
    for image in images:
        spikes = ref.encode(image, steps)
        assert torch.equal(spikes, fast.encode(image, steps))
        ref.simulate(spikes.unsqueeze(1), learning=True, counts=c_ref)
        fast.learn(spikes, counts=c_fast)
    assert c_fast == c_ref and c_ref.sums["exc_spikes"] >= steps // 10
    assert torch.allclose(fast.w, ref.w, rtol=0, atol=1e-10)
    assert torch.allclose(fast.vth, ref.vth, rtol=0, atol=1e-9)


ROUNDED = {  # Delta = 0.25: x -> (truncate, nearest)
    0.3: (0.25, 0.25),
    0.4: (0.25, 0.5),
    -0.3: (-0.5, -0.25),
    -0.125: (-0.25, 0.0),
}


@pytest.mark.parametrize("rounding", ["truncate", "nearest"])
def test_deterministic_rounding_of_neuron_state(rounding) -> None:
    net = network(rounding=rounding)
    grid = Grid(0.25, -8, 7)
    v = torch.tensor(list(ROUNDED), dtype=torch.float64)
    expected = [pair[0 if rounding == "truncate" else 1] for pair in ROUNDED.values()]
    assert net.q(v, grid).tolist() == expected


def test_stochastic_rounding_of_neuron_state_is_unbiased_between_neighbours() -> None:
    net = network(rounding="stochastic")
    grid = Grid(0.25, -8, 7)
    v = torch.full((20000,), 0.3, dtype=torch.float64)
    q = net.q(v, grid)
    assert set(q.unique().tolist()) == {0.25, 0.5}
    assert float(q.mean()) == pytest.approx(0.3, abs=0.01)  # P(up) = frac(0.3 / 0.25) = 0.2


@pytest.mark.parametrize("rounding", ["truncate", "nearest", "stochastic"])
def test_in_place_state_rounding_equals_the_shared_quantiser(rounding) -> None:
    net = network(rounding=rounding)
    grid = fixed_point(8, 20.0, signed=True)  # Q5.2
    x = torch.randn(500, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 30
    expected = quantize(x, grid, rounding, torch.Generator().manual_seed(7))
    net.generator = torch.Generator().manual_seed(7)
    assert torch.equal(net.q(x.clone(), grid), expected)


def test_saturation_at_the_grid_ends() -> None:
    net = network(rounding="nearest")
    assert net.q(torch.tensor([5.0, -5.0], dtype=torch.float64), Grid(0.25, -8, 7)).tolist() == [1.75, -2.0]


@pytest.mark.parametrize("rounding", ["truncate", "nearest", "stochastic"])
def test_in_training_quantisation_keeps_thresholds_and_weights_on_their_grids(rounding) -> None:
    net = network(n_inputs=8, network="diehl-cook", n_neurons=5, weight_bits=6, neuron_bits=8,
                  rounding=rounding, quantization="qat")
    ranges = Ranges(v_exc=40.0, v_th=20.0, v_inh=30.0)  # 6, 5 and 5 integer bits
    net.make_grids(ranges)
    net.quantize_params()
    assert net.grids.v_exc.delta == 2.0 ** -(8 - 1 - 6)
    assert net.grids.v_th.delta == 2.0 ** -(8 - 5) and net.grids.w.delta == 2.0 ** -6
    spikes = net.encode(torch.full((8,), 0.9, dtype=torch.float64), 60)
    net.simulate(spikes.unsqueeze(1), learning=True)
    for values, grid in ((net.vth, net.grids.v_th),):
        codes = values / grid.delta
        assert torch.equal(codes, codes.round())
    # weights were re-quantised after normalisation: multiples of 2^-6 (in [0, 1 - 2^-6])
    codes = net.w / net.grids.w.delta
    assert torch.equal(codes, codes.round()) and float(net.w.max()) <= 1 - 2.0**-6


def test_reset_potentials_and_constants_are_stored_at_their_precision() -> None:
    net = network(network="diehl-cook", weight_bits=4, neuron_bits=4, inhibition=17.3)
    net.make_grids(Ranges(v_exc=40.0, v_th=20.0, v_inh=30.0))
    assert net.exc_to_inh == 22.0  # 4 unsigned bits, 5 integer: steps of 2 -> 22.5 rounds to 22
    assert net.inh == 18.0
    # V_mem: 6 integer bits + sign leave -3 fraction bits, a step of 8 mV: the reset, 5 mV
    # above rest, is held as 8; the inhibitory reset (15 mV, 5 integer bits, step 4) as 16
    assert EXC.reset - EXC.rest == 5.0 and net.reset_exc == 8.0
    assert INH.reset - INH.rest == 15.0 and net.reset_inh == 16.0
