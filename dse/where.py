"""``--where``: a small, safe filter language over a query's columns.

Grammar (parsed here by a hand-written recursive-descent parser; nothing is
ever passed to ``eval`` or written into SQL)::

    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" expr ")" | comparison
    comparison := operand ("==" | "!=" | "<" | "<=" | ">" | ">=") operand
                | operand ["not"] "in" "[" [literal ("," literal)*] "]"
    operand    := NAME | `any column name` | literal
    literal    := number | 'text' | "text" | true | false

A NAME is one of the frame's columns (metrics and parameters). The condition
is evaluated on the pandas frame as boolean masks, with pandas' own
semantics (a missing value compares false, except with ``!=``).
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Any, Iterable

from .errors import UserError

MAX_LENGTH = 2000
HELP = "use column names, literals, == != < <= > >=, and/or/not, parentheses and in [...]"
COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
           ">": operator.gt, ">=": operator.ge}
KEYWORDS = {"and", "or", "not", "in", "true", "false"}
TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<quoted>`[^`]+`)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,)
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, name, keyword, op, end
    text: str
    value: Any
    at: int


def fail(message: str) -> UserError:
    return UserError(f"--where: {message}")


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_LENGTH:
        raise fail(f"longer than {MAX_LENGTH} characters ({len(text)}); write a shorter condition")
    out, at = [], 0
    while at < len(text):
        match = TOKEN.match(text, at)
        if not match:
            raise _unexpected(text, at)
        kind, piece = match.lastgroup, match.group()
        if kind != "space":
            out.append(_token(kind, piece, at))
        at = match.end()
    return out + [Token("end", "", None, len(text))]


def _token(kind: str, piece: str, at: int) -> Token:
    if kind == "number":
        return Token(kind, piece, float(piece) if re.search(r"[.eE]", piece) else int(piece), at)
    if kind == "string":
        return Token(kind, piece, piece[1:-1], at)
    if kind == "quoted":
        return Token("name", piece, piece[1:-1], at)
    if kind == "name" and piece.lower() in KEYWORDS:
        word = piece.lower()
        return Token("keyword", word, {"true": True, "false": False}.get(word), at)
    return Token(kind, piece, piece, at)


def _unexpected(text: str, at: int) -> UserError:
    char = text[at]
    if char == ".":
        return fail(f"attribute access ('.' at character {at + 1}) is not allowed; {HELP}")
    if char == "=":
        return fail(f"'=' at character {at + 1}: compare with '=='; {HELP}")
    return fail(f"unexpected {char!r} at character {at + 1}; {HELP}")


class Parser:
    """Recursive descent over the tokens; builds a tree of tuples."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens, self.i = tokens, 0

    @property
    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def accept(self, *texts: str) -> Token | None:
        if self.peek.kind in ("keyword", "op") and self.peek.text in texts:
            return self.take()
        return None

    def expect(self, text: str) -> Token:
        token = self.accept(text)
        if token is None:
            raise self.error(f"expected {text!r}")
        return token

    def error(self, what: str) -> UserError:
        token = self.peek
        found = "the end" if token.kind == "end" else repr(token.text)
        return fail(f"{what} at character {token.at + 1}, found {found}; {HELP}")

    def parse(self) -> tuple:
        if self.peek.kind == "end":
            raise fail(f"empty condition; {HELP}")
        tree = self.expr()
        if self.peek.kind != "end":
            raise self.error("expected 'and', 'or' or the end")
        return tree

    def expr(self) -> tuple:
        tree = self.and_expr()
        while self.accept("or"):
            tree = ("or", tree, self.and_expr())
        return tree

    def and_expr(self) -> tuple:
        tree = self.not_expr()
        while self.accept("and"):
            tree = ("and", tree, self.not_expr())
        return tree

    def not_expr(self) -> tuple:
        if self.accept("not"):
            return ("not", self.not_expr())
        if self.accept("("):
            tree = self.expr()
            self.expect(")")
            return tree
        return self.comparison()

    def comparison(self) -> tuple:
        left = self.operand()
        if self.accept("in"):
            return ("in", left, self.literal_list())
        if self.accept("not"):
            self.expect("in")
            return ("not", ("in", left, self.literal_list()))
        op = self.accept(*COMPARE)
        if op is None:
            raise self.error("expected a comparison (== != < <= > >= in)")
        return ("cmp", op.text, left, self.operand())

    def operand(self) -> tuple:
        token = self.peek
        if token.kind == "name":
            self.take()
            if self.peek.text == "(":
                raise fail(f"calls are not allowed ({token.text}(...) at character {token.at + 1}); {HELP}")
            return ("name", token.value)
        if token.kind in ("number", "string") or (token.kind == "keyword" and token.value is not None):
            return ("lit", self.take().value)
        raise self.error("expected a column name or a literal")

    def literal_list(self) -> tuple:
        self.expect("[")
        items = []
        while not self.accept("]"):
            if items:
                self.expect(",")
            item = self.operand()
            if item[0] != "lit":
                raise fail(f"'in [...]' takes literals only, not the column {item[1]!r}; {HELP}")
            items.append(item[1])
        return ("list", tuple(items))


def parse(text: str) -> tuple:
    """The condition's tree; a UserError naming what is wrong for anything outside the grammar."""
    return Parser(tokenize(text)).parse()


def names_in(tree: tuple) -> set[str]:
    if tree[0] == "name":
        return {tree[1]}
    return set().union(*(names_in(t) for t in tree[1:] if isinstance(t, tuple) and t and isinstance(t[0], str)))


def check_names(tree: tuple, columns: Iterable[str]) -> None:
    columns = [str(c) for c in columns]
    unknown = sorted(names_in(tree) - set(columns))
    if unknown:
        shown = ", ".join(columns[:12]) + (f", ... ({len(columns) - 12} more)" if len(columns) > 12 else "")
        raise fail(f"unknown name {unknown[0]!r}; valid names: {shown}")


def mask(frame, text: str):
    """The rows of `frame` the condition holds for, as a boolean Series."""
    tree = parse(text)
    check_names(tree, frame.columns)
    return _as_mask(frame, _evaluate(frame, tree))


def filter_frame(frame, text: str | None):
    return frame if not text else frame[mask(frame, text)]


def _as_mask(frame, value):
    import pandas as pd

    if isinstance(value, pd.Series):
        return value.astype(bool)
    return pd.Series(bool(value), index=frame.index)


def _evaluate(frame, tree: tuple):
    kind = tree[0]
    if kind == "or":
        return _as_mask(frame, _evaluate(frame, tree[1])) | _as_mask(frame, _evaluate(frame, tree[2]))
    if kind == "and":
        return _as_mask(frame, _evaluate(frame, tree[1])) & _as_mask(frame, _evaluate(frame, tree[2]))
    if kind == "not":
        return ~_as_mask(frame, _evaluate(frame, tree[1]))
    if kind == "in":
        return _isin(frame, _value(frame, tree[1]), list(tree[2][1]))
    _, op, left, right = tree
    try:
        return COMPARE[op](_value(frame, left), _value(frame, right))
    except TypeError:
        raise fail(f"cannot compare {_shown(left)} {op} {_shown(right)}: their types differ") from None


def _isin(frame, value, items: list):
    import pandas as pd

    try:
        return value.isin(items) if isinstance(value, pd.Series) else value in items
    except TypeError:
        raise fail("'in [...]' needs a column of single values (not lists)") from None


def _value(frame, node: tuple):
    return frame[node[1]] if node[0] == "name" else node[1]


def _shown(node: tuple) -> str:
    return node[1] if node[0] == "name" else repr(node[1])
