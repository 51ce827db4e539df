"""The TTFS engine: time-to-first-spike SNNs trained through their surrogate DNN (Park & Yoon).

Declared here without torch; training lives in :mod:`.engine`, the surrogate
DNN in :mod:`.model`, the temporal kernel in :mod:`.kernel` and the
event-driven simulator that checks it in :mod:`.simulator`.
"""

from .._base import Engine
from .keys import KEYS, TRAIN_KEYS, check, expand
from .shapes import static_profile

ENGINE = Engine(
    name="ttfs",
    help="TTFS-coded SNNs trained through their surrogate DNN, checked by event-driven simulation (Park & Yoon)",
    keys=KEYS,
    shared=("weight_bits", "layer_bits", "rounding", "quantization", "pruning"),
    defaults={"quantization": "ptq"},
    static_profile=static_profile,
    runner="dse.engines.ttfs.engine:run",
    train_keys=TRAIN_KEYS,
    check=check,
    expanded=("layer_bits", "weight_bits"),
    expand=expand,
    variant_keys=("weight_bits", "rounding", "pruning"),
)
