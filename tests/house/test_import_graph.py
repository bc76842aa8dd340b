"""No import cycles between the project's modules, function-level imports included (grimp,
which import-linter uses, sees those too). The layers themselves are import-linter's
contracts in pyproject.toml, run by `make lint` and CI."""

from __future__ import annotations

import sys

import grimp

from tests.project_packages import PACKAGES

# Left for the rollups' move to services (Invoice.save() and the delete signals still
# call yaypay_mail.balances); nothing may join it.
KNOWN = [{"yaypay_mail.balances", "yaypay_mail.models"}]


def cycles(graph) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(component)

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for module in sorted(graph.modules):
            if module not in index:
                visit(module)
    finally:
        sys.setrecursionlimit(limit)
    return found


def test_no_module_imports_itself_round_a_cycle():
    graph = grimp.build_graph(*PACKAGES)
    assert [c for c in cycles(graph) if c not in KNOWN] == []


def test_the_cycle_finder_finds_a_cycle():
    class Graph:
        modules = {"a", "b", "c"}
        edges = {"a": {"b"}, "b": {"a"}, "c": {"a"}}

        def find_modules_directly_imported_by(self, module):
            return self.edges[module]

    assert cycles(Graph()) == [{"a", "b"}]
