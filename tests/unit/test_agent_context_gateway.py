"""AgentContext.gateway takes exactly what ``isinstance(value, CallGateway)`` takes (its check is
short-cut for speed, see records._gateway_check): the same values pass and fail both ways."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from orchestrator_kit.records import AgentContext, CallGateway, ProjectState


class _Gateway:
    async def complete(self, request: Any, **kw: Any) -> Any: ...


class _NoneComplete:
    complete = None


class _InstanceAttr:
    def __init__(self) -> None:
        self.complete = lambda *a, **k: None


class _Nothing:
    pass


@pytest.mark.parametrize("value", [_Gateway(), _InstanceAttr(), _NoneComplete(), _Nothing(), 3, "complete"])
def test_gateway_field_agrees_with_the_protocol_check(value: object) -> None:
    state = ProjectState(request="a CLI")
    if isinstance(value, CallGateway):
        assert AgentContext(project_state=state, gateway=value).gateway is value
    else:
        with pytest.raises(ValidationError, match="instance of CallGateway"):
            AgentContext(project_state=state, gateway=value)


def test_no_gateway_is_none() -> None:
    assert AgentContext(project_state=ProjectState(request="a CLI")).gateway is None
