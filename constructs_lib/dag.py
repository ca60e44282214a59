"""``PipelineDAG``: the step graph, with a deterministic insertion-ordered topological order."""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from constructs_lib.errors import ConfigError, DagError
from constructs_lib.names import check_step_name

__all__ = ["PipelineDAG"]


class PipelineDAG:
    """A directed acyclic graph of step names (the seed's ``PipelineDAG``).

    Nodes keep insertion order; :meth:`topological_order` is the unique order in which, at each point,
    the earliest-inserted node whose predecessors are all placed comes next, so the same calls always give
    the same order. Node names are SageMaker step names (1-64 of ``A-Za-z0-9-_``).
    """

    def __init__(self, nodes: list[str] | None = None, edges: list[tuple[str, str]] | None = None) -> None:
        self._index: dict[str, int] = {}
        self._succ: dict[str, list[str]] = {}
        self._pred: dict[str, list[str]] = {}
        for node in nodes or ():
            self.add_node(node)
        for edge in edges or ():
            if not isinstance(edge, tuple | list) or len(edge) != 2:
                raise DagError("an edge is a (source, target) pair", field="edges", value=edge)
            self.add_edge(edge[0], edge[1])

    # ------------------------------------------------------------------ building
    def add_node(self, name: str) -> None:
        """Add a node; a duplicate or an invalid step name is a :class:`DagError`."""
        if not isinstance(name, str):
            raise DagError("a node name must be a string", field="node", value=name)
        try:
            check_step_name(name, field="node")
        except ConfigError as exc:
            raise DagError(exc.message, field="node", value=name, hint=exc.hint) from None
        if name in self._index:
            raise DagError("duplicate node", field="node", value=name, hint="each step name must be unique")
        self._index[name] = len(self._index)
        self._succ[name] = []
        self._pred[name] = []

    def add_edge(self, src: str, dst: str) -> None:
        """Add ``src -> dst`` (``dst`` runs after ``src`` and may consume its outputs).

        Unknown nodes, duplicate edges and edges that would close a cycle are :class:`DagError`\\ s; the
        cycle error lists the nodes on the cycle.
        """
        for end, name in (("source", src), ("target", dst)):
            if not isinstance(name, str) or name not in self._index:
                raise DagError(
                    f"edge {end} is not a node",
                    field="edge",
                    value=(src, dst),
                    hint=f"add_node({name!r}) first; nodes: {', '.join(self._index) or '(none)'}",
                )
        if dst in self._succ[src]:
            raise DagError("duplicate edge", field="edge", value=(src, dst))
        path = self._path(dst, src)
        if path is not None:
            cycle = [*path, dst]
            raise DagError(
                f"edge would create a cycle: {' -> '.join(cycle)}",
                field="edge",
                value=(src, dst),
                hint="a pipeline must be acyclic; remove one edge of the cycle",
            )
        self._succ[src].append(dst)
        self._pred[dst].append(src)

    def _path(self, start: str, goal: str) -> list[str] | None:
        """A path start -> ... -> goal following edges, or None (iterative DFS, deterministic)."""
        if start == goal:
            return [start]
        parent: dict[str, str | None] = {start: None}
        stack = [start]
        while stack:
            node = stack.pop()
            for nxt in self._succ[node]:
                if nxt in parent:
                    continue
                parent[nxt] = node
                if nxt == goal:
                    out: list[str] = [nxt]
                    cur: str | None = node
                    while cur is not None:
                        out.append(cur)
                        cur = parent[cur]
                    return out[::-1]
                stack.append(nxt)
        return None

    # ------------------------------------------------------------------ queries
    @property
    def nodes(self) -> list[str]:
        """Nodes in insertion order."""
        return list(self._index)

    @property
    def edges(self) -> list[tuple[str, str]]:
        """Edges, grouped by source in insertion order."""
        return [(s, d) for s in self._index for d in self._succ[s]]

    def predecessors(self, node: str) -> list[str]:
        """Direct predecessors of ``node`` in the order their edges were added."""
        self._require(node)
        return list(self._pred[node])

    def successors(self, node: str) -> list[str]:
        """Direct successors of ``node`` in the order their edges were added."""
        self._require(node)
        return list(self._succ[node])

    def _require(self, node: str) -> None:
        if not isinstance(node, str) or node not in self._index:
            raise DagError("unknown node", field="node", value=node, hint=f"nodes: {', '.join(self._index)}")

    def topological_order(self) -> list[str]:
        """Deterministic topological order (earliest-inserted ready node first); O((V+E) log V)."""
        indegree = {n: len(p) for n, p in self._pred.items()}
        ready = [(self._index[n], n) for n, d in indegree.items() if d == 0]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            _, node = heapq.heappop(ready)
            order.append(node)
            for nxt in self._succ[node]:
                indegree[nxt] -= 1
                if indegree[nxt] == 0:
                    heapq.heappush(ready, (self._index[nxt], nxt))
        if len(order) != len(self._index):  # pragma: no cover - add_edge refuses cycles
            stuck = [n for n in self._index if n not in set(order)]
            raise DagError("graph has a cycle", value=stuck)
        return order

    def __iter__(self) -> Iterator[str]:
        return iter(self.topological_order())

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, node: object) -> bool:
        return node in self._index

    def to_mermaid(self, labels: dict[str, str] | None = None) -> str:
        """The graph as a Mermaid ``flowchart`` (GitHub renders it); ``labels`` add text on edges
        keyed ``"src->dst"``."""
        labels = labels or {}
        lines = ["flowchart TD"]
        ids = {n: f"n{i}" for i, n in enumerate(self._index)}
        for node in self._index:
            lines.append(f'    {ids[node]}["{node}"]')
        for src, dst in self.edges:
            label = labels.get(f"{src}->{dst}")
            arrow = f' -- "{label}" --> ' if label else " --> "
            lines.append(f"    {ids[src]}{arrow}{ids[dst]}")
        return "\n".join(lines) + "\n"
