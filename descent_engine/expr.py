"""A small, safe language for 2-D functions of ``x`` and ``y``, with exact derivatives.

Grammar (``^`` is not an operator: write ``**``)::

    expr   := term (("+" | "-") term)*
    term   := unary (("*" | "/") unary)*
    unary  := "-" unary | "+" unary | power
    power  := atom ("**" unary)?            (right-associative, binds tighter than unary minus
                                              on its left: -x**2 is -(x**2), as in Python)
    atom   := NUMBER | "x" | "y" | "pi" | "e" | FUNC "(" expr ")" | "(" expr ")"
    FUNC   := exp | log | sqrt | sin | cos | tanh | abs

Nothing is ever handed to Python's ``eval``: the text is tokenised and parsed here into a tree
of :class:`Node` objects, evaluated with NumPy float64 (so no unbounded integer arithmetic: every
number is a float, and ``9**9**9`` is ``inf``, not a computation that never ends). The gradient
and the Hessian are trees too, made by symbolic differentiation of the parsed tree, so they are
exact (no finite differences). Limits keep a hostile expression cheap: at most
:data:`MAX_LENGTH` characters, :data:`MAX_NODES` nodes and :data:`MAX_DEPTH` levels of nesting.

Every problem with the text is an :class:`ExprError` with a one-line message that says where.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .params import ParamError

MAX_LENGTH = 500
MAX_NODES = 400
MAX_DEPTH = 60
VARIABLES = ("x", "y")
CONSTANTS = {"pi": math.pi, "e": math.e}


class ExprError(ParamError):
    """A malformed or unsafe expression (one user-facing line)."""


@dataclass(frozen=True)
class Node:
    """``op`` is "num", "var", "neg", "+", "-", "*", "/", "**" or a function name."""

    op: str
    args: tuple["Node", ...] = ()
    value: float = 0.0  # for "num"
    name: str = ""  # for "var"

    def __str__(self) -> str:
        return to_text(self)


FUNCS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos, "tanh": np.tanh,
    "abs": np.abs,
}

_TOKEN = re.compile(r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_]\w*)|(?P<op>\*\*|[-+*/()]))")


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            bad = text[pos:].lstrip()[:1]
            where = len(text) - len(text[pos:].lstrip()) + 1
            hint = " (write ** for powers)" if bad == "^" else ""
            raise ExprError(f"cannot read {bad!r} at character {where}{hint}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind), m.start(kind) + 1))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0
        self.nodes = 0
        self.depth = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise ExprError("the expression ends too early" + (f" (expected {value!r})" if value else ""))
        if value is not None and tok[1] != value:
            raise ExprError(f"expected {value!r} at character {tok[2]}, found {tok[1]!r}")
        self.i += 1
        return tok

    def node(self, *args, **kw) -> Node:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ExprError(f"the expression is too long (more than {MAX_NODES} parts)")
        return Node(*args, **kw)

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprError(f"the expression nests too deeply (more than {MAX_DEPTH} levels)")

    def expr(self) -> Node:
        self.enter()
        left = self.term()
        while (tok := self.peek()) is not None and tok[1] in ("+", "-"):
            self.take()
            left = self.node(tok[1], (left, self.term()))
        self.depth -= 1
        return left

    def term(self) -> Node:
        left = self.unary()
        while (tok := self.peek()) is not None and tok[1] in ("*", "/"):
            self.take()
            left = self.node(tok[1], (left, self.unary()))
        return left

    def unary(self) -> Node:
        tok = self.peek()
        if tok is not None and tok[1] in ("-", "+"):
            self.take()
            self.enter()
            inner = self.unary()
            self.depth -= 1
            return self.node("neg", (inner,)) if tok[1] == "-" else inner
        return self.power()

    def power(self) -> Node:
        base = self.atom()
        tok = self.peek()
        if tok is not None and tok[1] == "**":
            self.take()
            self.enter()
            exponent = self.unary()
            self.depth -= 1
            return self.node("**", (base, exponent))
        return base

    def atom(self) -> Node:
        kind, text, where = self.take()
        if kind == "num":
            value = float(text)
            if not math.isfinite(value):
                raise ExprError(f"the number {text[:20]!r} at character {where} is too large")
            return self.node("num", value=value)
        if kind == "name":
            if text in VARIABLES:
                return self.node("var", name=text)
            if text in CONSTANTS:
                return self.node("num", value=CONSTANTS[text])
            if text in FUNCS:
                self.take("(")
                inner = self.expr()
                self.take(")")
                return self.node(text, (inner,))
            known = ", ".join(list(VARIABLES) + list(CONSTANTS) + list(FUNCS))
            raise ExprError(f"unknown name {text[:20]!r} at character {where} (known: {known})")
        if text == "(":
            inner = self.expr()
            self.take(")")
            return inner
        raise ExprError(f"unexpected {text!r} at character {where}")


def parse(text: str) -> Node:
    """The tree of ``text``; ExprError (one line) for anything malformed, unknown or too large."""
    text = str(text)
    if len(text) > MAX_LENGTH:
        raise ExprError(f"the expression is too long ({len(text)} characters; at most {MAX_LENGTH})")
    if not text.strip():
        raise ExprError("the expression is empty (write a function of x and y, e.g. x**2 + 3*y**2)")
    p = _Parser(text)
    tree = p.expr()
    tok = p.peek()
    if tok is not None:
        raise ExprError(f"unexpected {tok[1]!r} at character {tok[2]}")
    return tree


# -- evaluation ---------------------------------------------------------------------------------------
def evaluate(node: Node, x, y):
    """The value at ``x``, ``y`` (floats or NumPy arrays of one shape); inf/nan where undefined."""
    with np.errstate(all="ignore"):
        return _eval(node, np.asarray(x, dtype=float), np.asarray(y, dtype=float), {})


def _eval(n: Node, x: np.ndarray, y: np.ndarray, memo: dict):
    """Derivative trees share subtrees: each shared node is evaluated once (``memo`` by identity)."""
    key = id(n)
    if key in memo:
        return memo[key]
    memo[key] = out = _eval_node(n, x, y, memo)
    return out


def _eval_node(n: Node, x: np.ndarray, y: np.ndarray, memo: dict):
    op = n.op
    if op == "num":
        return np.float64(n.value)
    if op == "var":
        return x if n.name == "x" else y
    if op == "neg":
        return -_eval(n.args[0], x, y, memo)
    if op in FUNCS:
        return FUNCS[op](_eval(n.args[0], x, y, memo))
    a, b = _eval(n.args[0], x, y, memo), _eval(n.args[1], x, y, memo)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    return np.power(a, b)


# -- symbolic derivatives -------------------------------------------------------------------------------
def _num(v: float) -> Node:
    return Node("num", value=float(v))


def _is(n: Node, v: float) -> bool:
    return n.op == "num" and n.value == v


def _add(a: Node, b: Node) -> Node:
    if _is(a, 0):
        return b
    if _is(b, 0):
        return a
    return Node("+", (a, b))


def _sub(a: Node, b: Node) -> Node:
    if _is(b, 0):
        return a
    if _is(a, 0):
        return _neg(b)
    return Node("-", (a, b))


def _neg(a: Node) -> Node:
    if a.op == "num":
        return _num(-a.value)
    if a.op == "neg":
        return a.args[0]
    return Node("neg", (a,))


def _mul(a: Node, b: Node) -> Node:
    if _is(a, 0) or _is(b, 0):
        return _num(0)
    if _is(a, 1):
        return b
    if _is(b, 1):
        return a
    return Node("*", (a, b))


def _div(a: Node, b: Node) -> Node:
    if _is(a, 0):
        return _num(0)
    if _is(b, 1):
        return a
    return Node("/", (a, b))


def _pow(a: Node, b: Node) -> Node:
    if _is(b, 1):
        return a
    if _is(b, 0):
        return _num(1)
    return Node("**", (a, b))


def derivative(n: Node, var: str) -> Node:
    """The exact partial derivative of ``n`` with respect to ``var`` ("x" or "y"), as a tree.

    ``abs`` differentiates to ``sign`` (written ``u / abs(u)``, undefined at 0, as the kink is).
    A power with a constant exponent uses ``c u**(c-1) u'`` (so ``x**2`` is defined at x < 0);
    otherwise ``u**v (v' log u + v u' / u)``.
    """
    op = n.op
    if op == "num":
        return _num(0)
    if op == "var":
        return _num(1 if n.name == var else 0)
    if op == "neg":
        return _neg(derivative(n.args[0], var))
    if op in ("+", "-"):
        da, db = derivative(n.args[0], var), derivative(n.args[1], var)
        return _add(da, db) if op == "+" else _sub(da, db)
    if op == "*":
        a, b = n.args
        return _add(_mul(derivative(a, var), b), _mul(a, derivative(b, var)))
    if op == "/":
        a, b = n.args
        return _div(_sub(_mul(derivative(a, var), b), _mul(a, derivative(b, var))), _pow(b, _num(2)))
    if op == "**":
        a, b = n.args
        da, db = derivative(a, var), derivative(b, var)
        if _is(db, 0):
            if b.op == "num":
                return _mul(_mul(_num(b.value), _pow(a, _num(b.value - 1))), da)
            return _mul(_mul(b, _pow(a, _sub(b, _num(1)))), da)
        return _mul(n, _add(_mul(db, Node("log", (a,))), _div(_mul(b, da), a)))
    (u,) = n.args
    du = derivative(u, var)
    if _is(du, 0):
        return _num(0)
    if op == "exp":
        outer = n
    elif op == "log":
        return _div(du, u)
    elif op == "sqrt":
        return _div(du, _mul(_num(2), n))
    elif op == "sin":
        outer = Node("cos", (u,))
    elif op == "cos":
        outer = _neg(Node("sin", (u,)))
    elif op == "tanh":
        outer = _sub(_num(1), _pow(n, _num(2)))
    elif op == "abs":
        outer = _div(u, n)
    else:  # pragma: no cover - every function above
        raise AssertionError(op)
    return _mul(outer, du)


def to_text(n: Node) -> str:
    """Text that parses back to the same tree (fully parenthesised where needed)."""
    op = n.op
    if op == "num":
        return repr(n.value) if n.value >= 0 else f"({n.value!r})"
    if op == "var":
        return n.name
    if op == "neg":
        return f"(-{to_text(n.args[0])})"
    if op in FUNCS:
        return f"{op}({to_text(n.args[0])})"
    return f"({to_text(n.args[0])} {op} {to_text(n.args[1])})"


@dataclass(frozen=True)
class Function2D:
    """A parsed function with its exact gradient and Hessian trees."""

    text: str
    tree: Node
    grad_trees: tuple[Node, Node]
    hessian_trees: tuple[tuple[Node, Node], tuple[Node, Node]]

    def value(self, x, y):
        return evaluate(self.tree, x, y)

    def gradient(self, x, y) -> np.ndarray:
        gx, gy = (evaluate(t, x, y) for t in self.grad_trees)
        return np.array([np.broadcast_to(gx, np.shape(x)), np.broadcast_to(gy, np.shape(x))], dtype=float)

    def hessian(self, x: float, y: float) -> np.ndarray:
        return np.array([[float(evaluate(t, x, y)) for t in row] for row in self.hessian_trees])


def compile_function(text: str) -> Function2D:
    """Parse ``text`` and differentiate it twice; ExprError for a bad expression."""
    tree = parse(text)
    gx, gy = derivative(tree, "x"), derivative(tree, "y")
    hxx, hxy = derivative(gx, "x"), derivative(gx, "y")
    hyx, hyy = derivative(gy, "x"), derivative(gy, "y")
    return Function2D(str(text), tree, (gx, gy), ((hxx, hxy), (hyx, hyy)))
