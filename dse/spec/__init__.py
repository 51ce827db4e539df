"""Study specs: a TOML file checked once, at the boundary, into a frozen StudySpec.

Parsing and validation only: every problem is a :class:`~dse.errors.SpecError`
naming the file, the key path and what would be valid, raised before anything
is trained or written::

    studies/x.toml: [space].weight_bits: expected integers 1..32, got 64

Values are checked by the key declarations (:mod:`dse.keys`, the engines'
keys, :mod:`hwmodels.validation`), command-line overrides included; rules
across keys by each engine's ``check`` hook over the whole space. Whether a
constraint can be met at all needs cost models and is the study's business
(:mod:`dse.study.feasibility`).
"""

from ..errors import SpecError
from ..param import Param
from ._load import load_spec, parse_spec
from ._rules import designs
from .model import DIRECTIONS, PRUNERS, SAMPLERS, Constraint, StudySpec

__all__ = ["load_spec", "parse_spec", "designs", "StudySpec", "Constraint", "Param", "SpecError",
           "SAMPLERS", "PRUNERS", "DIRECTIONS"]
