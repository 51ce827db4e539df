"""Each engine owns its design: one declaration per key, a Design derived from it, rules across keys."""

from __future__ import annotations

import ast
import pickle
from dataclasses import fields
from pathlib import Path

import pytest

from dse import engines
from dse.design import make_design
from dse.engines import DesignError, Engine
from dse.keys import Key

ENGINE_NAMES = engines.names()


def other_value(key: Key):
    """A valid value of the key that is not its default."""
    if key.kind == "str":
        return next(o for o in key.options if o != key.default)
    if key.kind == "bool":
        return not key.default
    if key.kind == "ints":
        return (int(key.low) if key.low else 1,) * 3
    value = key.high if key.high is not None and not key.open_high else (key.low or 0) + 0.5
    value = value if value != key.default else key.low
    return int(value) if key.kind == "int" else float(value)


@pytest.mark.parametrize("name", ENGINE_NAMES)
def test_the_design_has_one_field_per_declared_key(name) -> None:
    engine = engines.get(name)
    assert [f.name for f in fields(engine.design_type)] == list(engine.all_keys)
    design = engine.design()
    assert design.engine == name
    assert all(getattr(design, k) == key.default for k, key in engine.all_keys.items())
    assert pickle.loads(pickle.dumps(design)) == design


@pytest.mark.parametrize("name, key", [(e, k) for e in ENGINE_NAMES for k in engines.get(e).all_keys
                                       if k not in engines.get(e).expanded])
def test_every_declared_key_reaches_the_design(name, key) -> None:
    engine = engines.get(name)
    value = other_value(engine.all_keys[key])
    assert getattr(make_design(name, {key: value}), key) == engine.all_keys[key].check(value)


@pytest.mark.parametrize("name", ENGINE_NAMES)
def test_every_declared_key_is_read_by_its_engine(name) -> None:
    """A key the spec accepts but the engine never reads would be sampled, stored and ignored."""
    import dse.engines

    package = Path(dse.engines.__file__).parent / name
    read = set()
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute):
                read.add(node.attr)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                read.add(node.value)
    unread = [k for k in engines.get(name).all_keys if k not in read]
    assert not unread, f"engine {name!r} declares keys it never reads: {unread}"


def test_a_key_added_to_an_engine_reaches_its_design() -> None:
    base = engines.get("surrogate")
    extra = Key("leak_bits", "int", 4, "a new key", low=1, high=8)
    engine = Engine(name="toy", help="a toy", keys={"leak_bits": extra}, shared=("timesteps",), defaults={},
                    static_profile=base.static_profile, runner=base.runner)
    assert engine.design(leak_bits=6).leak_bits == 6 and engine.design().timesteps == 8
    with pytest.raises(ValueError, match="redeclares shared key"):
        Engine(name="bad", help="", keys={"timesteps": extra}, shared=("timesteps",), defaults={},
               static_profile=base.static_profile, runner=base.runner)


def test_designs_are_equal_when_every_resolved_key_is() -> None:
    a = make_design("surrogate", {"hidden": [64], "weight_bits": 8})
    b = make_design("surrogate", {"weight_bits": 8, "hidden": (64,), "decay": 0.5})  # decay is the default
    assert a == b and hash(a) == hash(b)
    assert a != make_design("surrogate", {"hidden": [64], "weight_bits": 4})


@pytest.mark.parametrize("name, params, keys", [
    ("stdp", {"network": "tinysnn", "update_interval": 300, "timesteps": 250}, ("update_interval", "timesteps")),
    ("stdp", {"timesteps": 1}, ("timesteps",)),
    ("ttfs", {"conv": (0, 8)}, ("conv",)),
    ("ttfs", {"conv": (8, 0, 0)}, ("conv",)),
])
def test_engine_rules_name_the_keys_involved(name, params, keys) -> None:
    with pytest.raises(DesignError) as info:
        engines.get(name).validate(make_design(name, params))
    assert info.value.keys == keys


def test_the_baseline_updates_every_step_so_its_interval_is_free() -> None:
    engines.get("stdp").validate(make_design("stdp", {"network": "diehl-cook", "update_interval": 300}))
