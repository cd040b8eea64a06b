"""The guide's ``AgentContext`` / ``TaskDefinition``: a misspelt field or a max_tokens that no request can carry is
refused when the record is made, naming the field, instead of being dropped (a misspelt ``llm_api_key``
silently ran simulated) or failing later inside the agent's first call."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from orchestrator_kit.engine.state_models import AgentContext, ProjectState, TaskDefinition

STATE = ProjectState(project_name="csv2json", request="A CLI that converts CSV files to JSON")


@pytest.mark.parametrize(
    "fields, named",
    [
        ({"llm_apikey": "sk-ant-test-not-a-key"}, "llm_apikey"),
        ({"modle": "claude-sonnet-5-5"}, "modle"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": -5}, "max_tokens"),
    ],
)
def test_agent_context_refuses_unknown_fields_and_impossible_max_tokens(
    fields: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValidationError) as info:
        AgentContext(project_state=STATE, **fields)
    assert named in str(info.value)
    assert "sk-ant-test-not-a-key" not in str(info.value)


def test_task_definition_refuses_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="descripton"):
        TaskDefinition(title="csv2json", descripton="A CLI")


def test_the_guides_fields_are_all_accepted() -> None:
    task = TaskDefinition(title="csv2json", description=STATE.request)
    ctx = AgentContext(
        project_state=STATE,
        task=task,
        user_id="user-001",
        llm_api_key=None,
        llm_provider="anthropic",
        model="claude-sonnet-5-5",
        max_tokens=4096,
    )
    assert ctx.task is task and ctx.max_tokens == 4096
