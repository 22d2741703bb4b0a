"""Operators of the feature-space expansion: unary exp, log, ^-1, ^2, ^3, sqrt, cbrt and binary
+, -, *, / and |a - b|, applied to whole arrays of values (invalid points come out nan/inf)."""

from __future__ import annotations

import numpy as np

UNARY_OPERATORS: tuple[str, ...] = ("exp", "log", "^-1", "^2", "^3", "sqrt", "cbrt")
BINARY_OPERATORS: tuple[str, ...] = ("+", "-", "*", "/", "|-|")
OPERATORS: tuple[str, ...] = (*UNARY_OPERATORS, *BINARY_OPERATORS)
#: Position of each operator in :data:`OPERATORS` (the operator code of a feature).
OPERATOR_INDEX = {op: k for k, op in enumerate(OPERATORS)}
PRIMARY = -1  # operator code of a primary feature


def apply_unary(op: str, x: np.ndarray) -> np.ndarray:
    """``op`` of x; invalid points come out nan/inf (the caller has errors silenced)."""
    if op == "exp":
        return np.exp(x)
    if op == "log":
        return np.log(x)
    if op == "^-1":
        return 1.0 / x
    if op == "^2":
        return x * x
    if op == "^3":
        return x * x * x
    if op == "sqrt":
        return np.sqrt(x)
    if op == "cbrt":
        return np.cbrt(x)
    raise ValueError(f"unknown unary operator {op!r}")


def apply_binary(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a op b``; invalid points come out nan/inf."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    if op == "|-|":
        return np.abs(a - b)
    raise ValueError(f"unknown binary operator {op!r}")
