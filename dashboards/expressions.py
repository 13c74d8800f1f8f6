"""Measures: a tiny expression language shared by QuickSight and the local server.

A measure is an aggregation of a column, or arithmetic over aggregations and numbers::

    sum(gross_revenue_vnd)
    distinct_count(user_id)
    sum(failed) / (sum(completed) + sum(failed))
    100 * sum(active_users) / sum(cohort_size)

Aggregations: ``sum avg min max count distinct_count median``. Operators: ``+ - * /`` and
parentheses. It is compiled to DuckDB SQL (division by zero → NULL) and to a QuickSight calculated
field (``sum({failed}) / ...``, division by zero → NULL), so both compute the same figure from the
same rows, whatever the filters.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass

AGGREGATIONS = {
    # ours: (DuckDB SQL, QuickSight calculated-field function, QuickSight SimpleNumericalAggregation)
    "sum": ("sum", "sum", "SUM"),
    "avg": ("avg", "avg", "AVERAGE"),
    "min": ("min", "min", "MIN"),
    "max": ("max", "max", "MAX"),
    "count": ("count", "count", "COUNT"),
    "distinct_count": ("count(distinct {})", "distinct_count", "DISTINCT_COUNT"),
    "median": ("median", "median", "MEDIAN"),
}
_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


class ExpressionError(ValueError):
    """A measure expression that is not in the language."""


@dataclass(frozen=True)
class Agg:
    func: str
    column: str


@dataclass(frozen=True)
class Num:
    value: float | int


@dataclass(frozen=True)
class BinOp:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Neg:
    operand: Node


Node = Agg | Num | BinOp | Neg


@dataclass(frozen=True)
class Measure:
    text: str
    tree: Node

    @property
    def simple(self) -> Agg | None:
        """The aggregation if the measure is exactly ``agg(column)`` (no arithmetic)."""
        return self.tree if isinstance(self.tree, Agg) else None

    @property
    def zero_when_empty(self) -> bool:
        """A count or a sum: over no rows it is 0 (a day without sales sold 0), where a ratio or an
        average has no value."""
        return self.simple is not None and self.simple.func in ("sum", "count", "distinct_count")

    def columns(self) -> list[str]:
        out: list[str] = []
        _walk(self.tree, lambda n: out.append(n.column) if isinstance(n, Agg) else None)
        return list(dict.fromkeys(out))

    def aggregations(self) -> list[Agg]:
        out: list[Agg] = []
        _walk(self.tree, lambda n: out.append(n) if isinstance(n, Agg) else None)
        return out

    def to_sql(self, quote: Callable[[str], str]) -> str:
        return _sql(self.tree, quote)

    def to_quicksight(self, condition: str | None = None) -> str:
        """The QuickSight expression; with ``condition``, every aggregation only over the rows where it
        holds (sumIf, distinct_countIf...: how a KPI computes its previous period)."""
        return _qs(self.tree, condition)


def _walk(node: Node, fn: Callable[[Node], None]) -> None:
    fn(node)
    if isinstance(node, BinOp):
        _walk(node.left, fn)
        _walk(node.right, fn)
    elif isinstance(node, Neg):
        _walk(node.operand, fn)


def parse(text: str) -> Measure:
    """Parse a measure; raises :class:`ExpressionError` with what is wrong and where."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError(f"a measure must be a non-empty string like 'sum(column)', got {text!r}")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as err:
        raise ExpressionError(f"measure {text!r} is not a valid expression: {err.msg}") from err
    return Measure(text=text.strip(), tree=_convert(tree, text))


def _convert(node: ast.AST, text: str) -> Node:
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in AGGREGATIONS:
            name = ast.unparse(node.func)
            raise ExpressionError(
                f"measure {text!r}: unknown aggregation {name!r}; use one of {', '.join(AGGREGATIONS)}"
            )
        if len(node.args) != 1 or node.keywords or not isinstance(node.args[0], ast.Name):
            raise ExpressionError(f"measure {text!r}: {node.func.id}() takes exactly one column name")
        return Agg(node.func.id, node.args[0].id)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return BinOp(_OPS[type(node.op)], _convert(node.left, text), _convert(node.right, text))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return Neg(_convert(node.operand, text))
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return Num(node.value)
    if isinstance(node, ast.Name):
        raise ExpressionError(
            f"measure {text!r}: column {node.id!r} must be aggregated, e.g. sum({node.id}) or max({node.id})"
        )
    raise ExpressionError(
        f"measure {text!r}: {ast.unparse(node)!r} is not allowed (only aggregations, numbers, + - * /)"
    )


def _sql(node: Node, quote: Callable[[str], str]) -> str:
    if isinstance(node, Agg):
        sql_fn = AGGREGATIONS[node.func][0]
        return sql_fn.format(quote(node.column)) if "{}" in sql_fn else f"{sql_fn}({quote(node.column)})"
    if isinstance(node, Num):
        return repr(node.value)
    if isinstance(node, Neg):
        return f"(-{_sql(node.operand, quote)})"
    left, right = _sql(node.left, quote), _sql(node.right, quote)
    if node.op == "/":
        return f"(cast({left} as double) / nullif({right}, 0))"
    return f"({left} {node.op} {right})"


def _qs(node: Node, condition: str | None = None) -> str:
    if isinstance(node, Agg):
        if condition is not None:
            return f"{AGGREGATIONS[node.func][1]}If({{{node.column}}}, {condition})"
        return f"{AGGREGATIONS[node.func][1]}({{{node.column}}})"
    if isinstance(node, Num):
        return repr(node.value)
    if isinstance(node, Neg):
        return f"(-{_qs(node.operand, condition)})"
    left, right = _qs(node.left, condition), _qs(node.right, condition)
    if node.op == "/":
        return f"ifelse({right} = 0, NULL, {left} / {right})"
    return f"({left} {node.op} {right})"
