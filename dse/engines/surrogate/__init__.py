"""The surrogate-gradient engine: LIF/IF networks trained by BPTT (LitE-SNN seed):
dense stacks and convolutional networks of searchable cells.

Declared here without torch; training lives in :mod:`.engine`.
"""

from .._base import Engine
from .expand import check, expand
from .keys import KEYS
from .shapes import static_profile

ENGINE = Engine(
    name="surrogate",
    help="LIF/IF networks trained by BPTT with surrogate gradients (LitE-SNN)",
    keys=KEYS,
    shared=("weight_bits", "neuron_bits", "vmem_bits", "vth_bits", "layer_bits", "rounding", "quantization",
            "pruning", "timesteps"),
    defaults={"timesteps": 8},
    static_profile=static_profile,
    runner="dse.engines.surrogate.engine:run",
    expanded=("ops", "cell_bits", "layer_bits", "weight_bits"),
    expand=expand,
    check=check,
    variant_keys=("weight_bits", "rounding", "pruning", "timesteps"),
)
