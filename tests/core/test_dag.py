"""PipelineDAG: deterministic order and clear errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from constructs_lib import DagError, PipelineDAG


def seed_dag() -> PipelineDAG:
    dag = PipelineDAG()
    for node in ("data_load", "preprocess", "train", "model"):
        dag.add_node(node)
    dag.add_edge("data_load", "preprocess")
    dag.add_edge("preprocess", "train")
    dag.add_edge("train", "model")
    return dag


def test_seed_order() -> None:
    dag = seed_dag()
    assert dag.topological_order() == ["data_load", "preprocess", "train", "model"]
    assert dag.predecessors("train") == ["preprocess"] and dag.successors("train") == ["model"]
    assert dag.edges == [("data_load", "preprocess"), ("preprocess", "train"), ("train", "model")]


def test_insertion_order_breaks_ties() -> None:
    dag = PipelineDAG(nodes=["c", "a", "b", "d"], edges=[("b", "d"), ("c", "d")])
    assert dag.topological_order() == ["c", "a", "b", "d"]
    dag2 = PipelineDAG(nodes=["d", "b", "c"], edges=[("c", "d"), ("b", "d")])
    assert dag2.topological_order() == ["b", "c", "d"]


def test_unknown_node_in_edge() -> None:
    dag = seed_dag()
    with pytest.raises(DagError) as err:
        dag.add_edge("train", "deploy")
    assert "deploy" in str(err.value) and "not a node" in str(err.value)


def test_duplicate_node_and_edge() -> None:
    dag = seed_dag()
    with pytest.raises(DagError, match="duplicate node"):
        dag.add_node("train")
    with pytest.raises(DagError, match="duplicate edge"):
        dag.add_edge("train", "model")


def test_cycle_names_the_nodes() -> None:
    dag = seed_dag()
    with pytest.raises(DagError) as err:
        dag.add_edge("model", "preprocess")
    assert "preprocess -> train -> model -> preprocess" in str(err.value)
    with pytest.raises(DagError, match="train -> train"):
        dag.add_edge("train", "train")
    # the failed edge was not added
    assert dag.topological_order() == ["data_load", "preprocess", "train", "model"]


@pytest.mark.parametrize("bad", ["", "has space", "a" * 65, "dot.name", "ü"])
def test_node_names_are_step_names(bad: str) -> None:
    with pytest.raises(DagError, match="step name"):
        PipelineDAG().add_node(bad)


def test_mermaid() -> None:
    text = seed_dag().to_mermaid({"train->model": "model_artifacts → model_data"})
    assert text.startswith("flowchart TD\n")
    assert '    n0["data_load"]' in text
    assert '    n2 -- "model_artifacts → model_data" --> n3' in text


@settings(max_examples=80, deadline=None)
@given(
    st.integers(min_value=1, max_value=12),
    st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11)), max_size=40),
)
def test_any_accepted_graph_is_acyclic_and_ordered(n: int, edges: list[tuple[int, int]]) -> None:
    dag = PipelineDAG(nodes=[f"n{i}" for i in range(n)])
    for a, b in edges:
        try:
            dag.add_edge(f"n{a % n}", f"n{b % n}")
        except DagError:
            continue  # never any other exception type
    order = dag.topological_order()
    assert sorted(order) == sorted(dag.nodes)
    pos = {node: i for i, node in enumerate(order)}
    assert all(pos[a] < pos[b] for a, b in dag.edges)
    assert order == dag.topological_order()  # stable
