"""--where: the grammar refuses everything outside it (exit 2, one line), and a good filter
keeps exactly the rows pandas keeps for the same condition written by hand."""

from __future__ import annotations

import operator

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dse.cli import main
from dse.errors import UserError
from dse.where import mask, parse

FRAME = pd.DataFrame({
    "trial": [0, 1, 2, 3, 4, 5],
    "status": ["trained", "rejected", "trained", "variant", "failed", "trained"],
    "accuracy": [0.91, np.nan, 0.75, 0.88, np.nan, 6.26e-10],
    "memory_bits": [1200.0, 300.0, 800.0, 1200.0, np.nan, 50.0],
    "weight_bits": [4, 8, 8, 4, 2, 16],
    "quantized": [True, False, True, True, False, True],
})
HELP = "use column names, literals, == != < <= > >=, and/or/not, parentheses and in [...]"
VALID = "valid names: trial, status, accuracy, memory_bits, weight_bits, quantized"


@pytest.mark.parametrize("text, message", [
    ("a.__class__", f"--where: attribute access ('.' at character 2) is not allowed; {HELP}"),
    ("accuracy.__class__", f"--where: attribute access ('.' at character 9) is not allowed; {HELP}"),
    ("__import__('os')", f"--where: calls are not allowed (__import__(...) at character 1); {HELP}"),
    ("accuracy > 0 and len(status) > 1", f"--where: calls are not allowed (len(...) at character 18); {HELP}"),
    ("1; DROP TABLE trials", f"--where: unexpected ';' at character 2; {HELP}"),
    ("status == 'x' -- comment", f"--where: unexpected '-' at character 15; {HELP}"),
    ("accuracy = 1", f"--where: '=' at character 10: compare with '=='; {HELP}"),
    ("lambda: 1", f"--where: unexpected ':' at character 7; {HELP}"),
    ("nope > 1", f"--where: unknown name 'nope'; {VALID}"),
    ("x" * 2001, "--where: longer than 2000 characters (2001); write a shorter condition"),
    ("", f"--where: empty condition; {HELP}"),
    ("accuracy >", f"--where: expected a column name or a literal at character 11, found the end; {HELP}"),
    ("accuracy", f"--where: expected a comparison (== != < <= > >= in) at character 9, found the end; {HELP}"),
    ("weight_bits in [trial]", f"--where: 'in [...]' takes literals only, not the column 'trial'; {HELP}"),
    ("status < 1", "--where: cannot compare status < 1: their types differ"),
    ("(accuracy > 1", f"--where: expected ')' at character 14, found the end; {HELP}"),
])
def test_hostile_and_bad_input_is_refused_naming_the_problem(text, message) -> None:
    with pytest.raises(UserError) as info:
        mask(FRAME, text)
    assert str(info.value) == message


@pytest.mark.parametrize("text", ["a.__class__", "__import__('os')", "1; DROP TABLE trials", "nope > 1", "x" * 2001])
def test_the_command_exits_2_with_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys, text) -> None:
    from benchmarks.synthetic_study import make_study

    monkeypatch.chdir(tmp_path)
    make_study("sqlite:///q.db", "s", 6)
    before = (tmp_path / "q.db").stat().st_mtime_ns
    with pytest.raises(SystemExit) as info:
        main(["query", "s", "--storage", "sqlite:///q.db", "--where", text, "-o", "out.csv"])
    err = capsys.readouterr().err.strip()
    assert info.value.code == 2 and err.startswith("error: --where: ") and "\n" not in err
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("q.db")] == []
    assert (tmp_path / "q.db").stat().st_mtime_ns == before


@pytest.mark.parametrize("text, expected", [
    ("accuracy > 0.8", FRAME.accuracy > 0.8),
    ("accuracy >= 6.26e-10 and memory_bits < 1000", (FRAME.accuracy >= 6.26e-10) & (FRAME.memory_bits < 1000)),
    ("not (status == 'trained') or weight_bits in [16]", ~(FRAME.status == "trained") | FRAME.weight_bits.isin([16])),
    ("status not in ['failed', \"rejected\"]", ~FRAME.status.isin(["failed", "rejected"])),
    ("quantized == true and weight_bits != 8", (FRAME.quantized == True) & (FRAME.weight_bits != 8)),  # noqa: E712
    ("memory_bits > accuracy", FRAME.memory_bits > FRAME.accuracy),
    ("`weight_bits` <= -1 or trial == 3", (FRAME.weight_bits <= -1) | (FRAME.trial == 3)),
])
def test_good_filters_equal_pandas_by_hand(text, expected) -> None:
    assert mask(FRAME, text).tolist() == expected.tolist()


OPS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
NUMERIC = ["trial", "accuracy", "memory_bits", "weight_bits"]
numbers = st.one_of(st.integers(-5, 2000), st.floats(-1e4, 1e4, allow_nan=False), st.sampled_from([6.26e-10, 0.75]))


@st.composite
def comparison(draw):
    column, op = draw(st.sampled_from(NUMERIC)), draw(st.sampled_from(sorted(OPS)))
    if draw(st.booleans()):
        value = draw(numbers)
        return f"{column} {op} {value!r}", OPS[op](FRAME[column], value)
    items = draw(st.lists(numbers, max_size=4))
    return f"{column} in [{', '.join(map(repr, items))}]", FRAME[column].isin(items)


@st.composite
def condition(draw, depth=0):
    if depth >= 2 or draw(st.booleans()):
        return draw(comparison())
    kind = draw(st.sampled_from(["and", "or", "not"]))
    left_text, left = draw(condition(depth + 1))
    if kind == "not":
        return f"not ({left_text})", ~left
    right_text, right = draw(condition(depth + 1))
    return f"({left_text}) {kind} ({right_text})", (left & right) if kind == "and" else (left | right)


@settings(max_examples=200, deadline=None)
@given(condition())
def test_generated_conditions_equal_pandas(case) -> None:
    text, expected = case
    assert mask(FRAME, text).tolist() == expected.tolist(), text
    assert parse(text)  # the same text parses on its own
