"""Readable descriptor formulas: render an expression tree as text, parse text back to values.

The grammar is the one the feature generator writes (and a user can type)::

    expr  := term (("+" | "-") term)*
    term  := unary (("*" | "/") unary)*
    unary := "-" unary | power
    power := atom ("^" ["-"] NUMBER)?
    atom  := NAME | NUMBER | FUNC "(" expr ")" | "(" expr ")" | "|" expr "|"

with ``FUNC`` one of exp, log (natural), sqrt, cbrt, abs. ``|a - b|`` is the absolute
difference; ``x^-1`` the reciprocal. :func:`evaluate_formula` computes a formula on columns
of a DataFrame (or a name -> array mapping) with numpy, so a formula reported by a search
evaluates back to exactly the column that was screened.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from loop.errors import ValidationError

#: Unary operators: name -> (numpy function, how it is written).
FUNCTIONS = {
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "cbrt": np.cbrt,
    "abs": np.abs,
}

# Precedence of a rendered node: the loosest operator at its top. A right operand of + or -
# that is itself a sum is parenthesised, so the text re-evaluates in the generator's order
# (no cancellation difference); products may chain, a rounding of 1e-16 at most.
PREC_SUM = 1
PREC_PRODUCT = 2
PREC_UNARY_MINUS = 3
PREC_POWER = 4
PREC_ATOM = 5


@dataclass(frozen=True)
class Rendered:
    """Text of a sub-expression and the precedence of its top operator."""

    text: str
    prec: int

    def wrapped(self, min_prec: int) -> str:
        """The text, parenthesised when its top operator binds looser than ``min_prec``."""
        return self.text if self.prec >= min_prec else f"({self.text})"


def render_primary(name: str) -> Rendered:
    return Rendered(name, PREC_ATOM)


def render_unary(op: str, x: Rendered) -> Rendered:
    """``op`` is one of exp, log, sqrt, cbrt (function form) or ^-1, ^2, ^3 (power form)."""
    if op.startswith("^"):
        return Rendered(f"{x.wrapped(PREC_ATOM)}{op}", PREC_POWER)
    return Rendered(f"{op}({x.text})", PREC_ATOM)


def render_binary(op: str, a: Rendered, b: Rendered) -> Rendered:
    """``op`` is one of + - * / or |-| (absolute difference)."""
    if op == "+":
        return Rendered(f"{a.wrapped(PREC_SUM)} + {b.wrapped(PREC_PRODUCT)}", PREC_SUM)
    if op == "-":
        return Rendered(f"{a.wrapped(PREC_SUM)} - {b.wrapped(PREC_PRODUCT)}", PREC_SUM)
    if op == "*":
        return Rendered(f"{a.wrapped(PREC_PRODUCT)} * {b.wrapped(PREC_PRODUCT)}", PREC_PRODUCT)
    if op == "/":
        return Rendered(f"{a.wrapped(PREC_PRODUCT)} / {b.wrapped(PREC_POWER)}", PREC_PRODUCT)
    if op == "|-|":
        return Rendered(f"|{a.wrapped(PREC_SUM)} - {b.wrapped(PREC_PRODUCT)}|", PREC_ATOM)
    raise ValueError(f"unknown binary operator {op!r}")


# --------------------------------------------------------------------------- parsing

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[-+*/^()|]))"
)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ValidationError(f"formula {text!r}: unexpected character at position {pos + 1}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    """Recursive-descent evaluator over a token list (see the module grammar)."""

    def __init__(self, text: str, columns: Mapping[str, np.ndarray]) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0
        self.columns = columns

    def fail(self, what: str) -> ValidationError:
        return ValidationError(f"formula {self.text!r}: {what}")

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise self.fail("ends too early")
        if value is not None and tok[1] != value:
            raise self.fail(f"expected {value!r}, found {tok[1]!r}")
        self.pos += 1
        return tok

    def parse(self) -> np.ndarray:
        if not self.tokens:
            raise self.fail("is empty")
        value = self.expr()
        if self.peek() is not None:
            raise self.fail(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return value

    def expr(self) -> np.ndarray:
        value = self.term()
        while (tok := self.peek()) is not None and tok[1] in "+-" and tok[0] == "op":
            self.take()
            right = self.term()
            value = value + right if tok[1] == "+" else value - right
        return value

    def term(self) -> np.ndarray:
        value = self.unary()
        while (tok := self.peek()) is not None and tok[0] == "op" and tok[1] in "*/":
            self.take()
            right = self.unary()
            value = value * right if tok[1] == "*" else value / right
        return value

    def unary(self) -> np.ndarray:
        tok = self.peek()
        if tok is not None and tok == ("op", "-"):
            self.take()
            return -self.unary()
        return self.power()

    def power(self) -> np.ndarray:
        base = self.atom()
        tok = self.peek()
        if tok is not None and tok == ("op", "^"):
            self.take()
            sign = 1.0
            if self.peek() == ("op", "-"):
                self.take()
                sign = -1.0
            kind, text = self.take()
            if kind != "num":
                raise self.fail(f"exponent must be a number, found {text!r}")
            exponent = sign * float(text)
            if exponent == 2:
                return base * base
            if exponent == 3:
                return base * base * base
            if exponent == -1:
                return 1.0 / base
            return np.power(base, exponent)
        return base

    def atom(self) -> np.ndarray:
        kind, text = self.take()
        if kind == "num":
            return np.asarray(float(text))
        if kind == "name":
            if self.peek() == ("op", "("):
                func = FUNCTIONS.get(text)
                if func is None:
                    raise self.fail(f"unknown function {text!r} (known: {', '.join(FUNCTIONS)})")
                self.take("(")
                inner = self.expr()
                self.take(")")
                return func(inner)
            if text not in self.columns:
                raise self.fail(f"unknown feature {text!r}")
            return np.asarray(self.columns[text], dtype=float)
        if text == "(":
            inner = self.expr()
            self.take(")")
            return inner
        if text == "|":
            inner = self.expr()
            self.take("|")
            return np.abs(inner)
        raise self.fail(f"unexpected {text!r}")


def evaluate_formula(
    formula: str, columns: pd.DataFrame | Mapping[str, np.ndarray]
) -> np.ndarray:
    """Values of ``formula`` on the named columns, float (N,); invalid points come out nan/inf.

    Raises:
        ValidationError: the formula does not parse or names an unknown feature.
    """
    if isinstance(columns, pd.DataFrame):
        mapping: Mapping[str, np.ndarray] = {c: columns[c].to_numpy() for c in columns.columns}
        n = len(columns)
    else:
        mapping = columns
        n = len(next(iter(columns.values()))) if columns else 0
    with np.errstate(all="ignore"):
        value = _Parser(formula, mapping).parse()
    return np.broadcast_to(np.asarray(value, dtype=float), (n,)).copy()


def formula_features(formula: str) -> list[str]:
    """Names of the features (not functions) a formula uses, in first-use order."""
    tokens = _tokenize(formula)
    names: list[str] = []
    for k, (kind, text) in enumerate(tokens):
        is_call = k + 1 < len(tokens) and tokens[k + 1] == ("op", "(")
        if kind == "name" and not is_call and text not in names:
            names.append(text)
    return names
