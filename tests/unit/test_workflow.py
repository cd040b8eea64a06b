"""The workflow DAG: default order, subsets, validation, between(), critical_path(), custom DAGs."""

from __future__ import annotations

import pytest
from documented import AGENT_ORDER

from orchestrator_kit.agents.roles import ROLE_IDS
from orchestrator_kit.engine.workflow import DEFAULT_WORKFLOW, Gate, Step, Workflow
from orchestrator_kit.errors import ConfigError, UnknownAgentError


def _deps(wf: Workflow) -> dict[str, tuple[str, ...]]:
    return {a: s.after for a, s in wf.steps.items()}


# -- the default DAG -------------------------------------------------------------------------------


def test_default_order_is_the_documented_chain() -> None:
    assert DEFAULT_WORKFLOW.order() == AGENT_ORDER


def test_default_workflow_has_every_role_once() -> None:
    assert sorted(DEFAULT_WORKFLOW.steps) == sorted(ROLE_IDS)


def test_default_order_respects_every_dependency() -> None:
    order = DEFAULT_WORKFLOW.order()
    for agent, step in DEFAULT_WORKFLOW.steps.items():
        for dep in step.after:
            assert order.index(dep) < order.index(agent), (dep, agent)


def test_default_dependencies() -> None:
    assert _deps(DEFAULT_WORKFLOW) == {
        "architect": (),
        "data": ("architect",),
        "consensus": ("architect", "data"),
        "developer": ("consensus",),
        "qa": ("developer",),
        "documentarian": ("developer",),
        "reviewer": ("qa", "documentarian"),
        "steward": ("reviewer",),
    }


def test_consensus_is_the_only_gate_and_sends_back_to_architect() -> None:
    gates = {a: s.gate for a, s in DEFAULT_WORKFLOW.steps.items() if s.gate}
    assert gates == {"consensus": Gate(send_back_to="architect", max_rounds=3)}


# -- subsets ---------------------------------------------------------------------------------------


def test_subset_keeps_nearest_ancestors() -> None:
    wf = DEFAULT_WORKFLOW.subset(["architect", "developer"])
    assert wf.order() == ["architect", "developer"]
    assert _deps(wf) == {"architect": (), "developer": ("architect",)}


def test_subset_order_of_arguments_does_not_matter() -> None:
    assert _deps(DEFAULT_WORKFLOW.subset(["developer", "architect"])) == {
        "architect": (),
        "developer": ("architect",),
    }


def test_subset_joins_through_parallel_branches() -> None:
    wf = DEFAULT_WORKFLOW.subset(["developer", "qa", "documentarian", "steward"])
    assert _deps(wf) == {
        "developer": (),
        "qa": ("developer",),
        "documentarian": ("developer",),
        "steward": ("qa", "documentarian"),
    }


def test_subset_of_one_agent() -> None:
    wf = DEFAULT_WORKFLOW.subset(["reviewer"])
    assert _deps(wf) == {"reviewer": ()}


def test_subset_keeps_gate_when_its_target_is_kept() -> None:
    wf = DEFAULT_WORKFLOW.subset(["architect", "consensus", "developer"])
    assert wf.steps["consensus"].gate == Gate("architect", 3)
    assert wf.steps["consensus"].after == ("architect",)


def test_subset_drops_a_gate_whose_target_is_dropped() -> None:
    wf = DEFAULT_WORKFLOW.subset(["consensus", "developer"])
    assert wf.steps["consensus"].gate is None
    assert _deps(wf) == {"consensus": (), "developer": ("consensus",)}


def test_subset_max_rounds_overrides_the_gate() -> None:
    wf = DEFAULT_WORKFLOW.subset(list(DEFAULT_WORKFLOW.steps), max_rounds=1)
    assert wf.steps["consensus"].gate == Gate("architect", 1)
    assert DEFAULT_WORKFLOW.steps["consensus"].gate == Gate("architect", 3)  # the default is untouched


def test_subset_rejects_duplicate_agents() -> None:
    with pytest.raises(ConfigError, match=r"more than once.*architect"):
        DEFAULT_WORKFLOW.subset(["architect", "developer", "architect"])


def test_subset_rejects_unknown_agents_listing_the_valid_ids() -> None:
    with pytest.raises(UnknownAgentError) as info:
        DEFAULT_WORKFLOW.subset(["architect", "wizard"])
    assert "wizard" in str(info.value)
    for role in ROLE_IDS:
        assert role in str(info.value)


def test_subset_rejects_agents_missing_from_a_custom_workflow() -> None:
    wf = Workflow.from_dict({"architect": [], "developer": ["architect"]})
    with pytest.raises(ConfigError, match="qa"):
        wf.subset(["architect", "qa"])


def test_subset_of_nothing_is_an_error() -> None:
    with pytest.raises(ConfigError, match="no steps"):
        DEFAULT_WORKFLOW.subset([])


# -- validation ------------------------------------------------------------------------------------


def test_cycle_is_refused_naming_the_steps() -> None:
    with pytest.raises(ConfigError, match="cycle") as info:
        Workflow.from_dict({"architect": ["developer"], "developer": ["architect"], "qa": []})
    assert "architect" in str(info.value) and "developer" in str(info.value)


def test_self_loop_is_a_cycle() -> None:
    with pytest.raises(ConfigError, match="cycle"):
        Workflow.from_dict({"architect": ["architect"]})


def test_dependency_outside_the_workflow_is_refused() -> None:
    with pytest.raises(ConfigError, match="waits for 'data'"):
        Workflow.from_dict({"architect": [], "developer": ["data"]})


def test_unknown_agent_in_a_custom_workflow() -> None:
    with pytest.raises(UnknownAgentError):
        Workflow.from_dict({"architect": [], "wizard": ["architect"]})


def test_gate_must_send_back_to_an_ancestor() -> None:
    with pytest.raises(ConfigError, match="ancestors"):
        Workflow.from_dict(
            {
                "architect": [],
                "developer": ["architect"],
                "consensus": {"after": ["architect"], "gate": {"send_back_to": "developer"}},
            }
        )


def test_empty_workflow_is_refused() -> None:
    with pytest.raises(ConfigError):
        Workflow({})


# -- queries ---------------------------------------------------------------------------------------


def test_between_is_what_the_gate_reruns() -> None:
    assert DEFAULT_WORKFLOW.between("architect", "consensus") == ["architect", "data", "consensus"]


def test_between_skips_steps_off_the_path() -> None:
    assert DEFAULT_WORKFLOW.between("developer", "reviewer") == [
        "developer",
        "qa",
        "documentarian",
        "reviewer",
    ]
    assert DEFAULT_WORKFLOW.between("qa", "steward") == ["qa", "reviewer", "steward"]


def test_between_adjacent_steps() -> None:
    assert DEFAULT_WORKFLOW.between("reviewer", "steward") == ["reviewer", "steward"]


def test_critical_path_takes_the_longest_branch() -> None:
    unit = dict.fromkeys(DEFAULT_WORKFLOW.steps, 1.0)
    assert DEFAULT_WORKFLOW.critical_path(unit) == 7.0  # qa and documentarian run side by side
    assert DEFAULT_WORKFLOW.critical_path({**unit, "qa": 5.0}) == 11.0
    assert DEFAULT_WORKFLOW.critical_path({**unit, "documentarian": 5.0}) == 11.0


def test_critical_path_missing_costs_count_as_zero() -> None:
    assert DEFAULT_WORKFLOW.critical_path({"qa": 2.0, "documentarian": 3.0}) == 3.0
    assert DEFAULT_WORKFLOW.critical_path({}) == 0.0


# -- custom DAGs -----------------------------------------------------------------------------------


def test_custom_dag_from_lists() -> None:
    wf = Workflow.from_dict(
        {
            "developer": [],
            "qa": ["developer"],
            "documentarian": ["developer"],
            "reviewer": ["qa", "documentarian"],
        }
    )
    assert wf.order() == ["developer", "qa", "documentarian", "reviewer"]
    assert wf.steps["reviewer"] == Step("reviewer", ("qa", "documentarian"), None)


def test_custom_dag_with_a_gate_and_round_trip() -> None:
    spec = {
        "architect": [],
        "consensus": {"after": ["architect"], "gate": {"send_back_to": "architect", "max_rounds": 2}},
        "developer": {"after": ["consensus"]},
    }
    wf = Workflow.from_dict(spec)
    assert wf.steps["consensus"].gate == Gate("architect", 2)
    assert wf.steps["developer"].gate is None
    again = Workflow.from_dict(wf.to_dict())
    assert again == wf


def test_custom_dag_order_is_topological_even_when_listed_backwards() -> None:
    wf = Workflow.from_dict({"steward": ["reviewer"], "reviewer": ["developer"], "developer": []})
    assert wf.order() == ["developer", "reviewer", "steward"]


@pytest.mark.parametrize("rounds", [0, -1])
def test_a_gate_needs_at_least_one_round(rounds: int) -> None:
    with pytest.raises(ConfigError, match="at least 1 round"):
        DEFAULT_WORKFLOW.subset(list(DEFAULT_WORKFLOW.steps), max_rounds=rounds)
    with pytest.raises(ConfigError, match="at least 1 round"):
        Workflow.from_dict(
            {"architect": [], "consensus": {"after": ["architect"], "gate": {"max_rounds": rounds}}}
        )
