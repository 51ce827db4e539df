"""The STDP engine: Diehl & Cook's network, tinySNN and SL-STDP, quantised (tinySNN seed).

Declared here without torch; the network state lives in :mod:`.network`, its
simulation in :mod:`.stepping`, :mod:`.presentation` and :mod:`.solver`, training and
evaluation in :mod:`.engine`.
"""

from .._base import Engine
from .keys import KEYS, TRAIN_KEYS, check, expand
from .shapes import static_profile

ENGINE = Engine(
    name="stdp",
    help="unsupervised STDP: Diehl & Cook baseline, tinySNN and SL-STDP, quantised weights and neuron state",
    keys=KEYS,
    shared=("weight_bits", "neuron_bits", "vmem_bits", "vth_bits", "layer_bits", "rounding", "quantization",
            "timesteps"),
    defaults={"timesteps": 250},
    static_profile=static_profile,
    runner="dse.engines.stdp.engine:run",
    train_keys=TRAIN_KEYS,
    training_profile=True,
    check=check,
    expanded=("layer_bits", "weight_bits"),
    expand=expand,
    variant_keys=("weight_bits", "rounding", "timesteps"),
)
