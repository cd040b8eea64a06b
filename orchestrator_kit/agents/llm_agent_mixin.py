"""LlmAgentMixin: plan and act through PromptBuilder -> Gateway -> Backend -> ResponseParser.

Handles what every model answer may need: one bounded continuation after ``max_tokens``,
local repair, at most one re-ask of malformed output (counted as wasted spend), and refusals.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._sync import run_sync
from ..errors import ParseError, RefusalError
from ..llm.pricing import DEFAULT_MODEL, check_model
from ..llm.types import Completion, LLMRequest, Message, RequestLabels
from ..records import (
    AgentContext,
    AgentOutput,
    AgentPlan,
    Artifact,
    CallGateway,
    PhaseType,
    ProjectState,
    TaskDefinition,
    unchecked,
)
from . import continuation
from .prompt_builder import PromptBuilder, Step
from .response_parser import Parsed, parse_act, parse_plan

if TYPE_CHECKING:
    from ..llm.gateway import Gateway
    from .roles import Role

_TRUNCATED, _REFUSED = object(), object()
CONTINUE_NOTE = (
    "Your reply was cut off at the token limit. Continue exactly where it stopped: output only "
    "the remaining characters of the JSON object, with no repetition and no commentary."
)


_STATUS = {
    "max_tokens": "truncated",
    "refusal": "refused",
    "model_context_window_exceeded": "truncated",
    "pause_turn": "truncated",
}
# Answers cut short where a continuation cannot help (the context window is full; a paused server-tool
# turn): what local repair saves is kept, marked truncated.
_CUT_SHORT = frozenset({"model_context_window_exceeded", "pause_turn"})


def _status(c: Completion) -> str:
    return _STATUS.get(c.stop_reason or "", "ok")


def _validator(parse: Callable[[str], Any], prefix: str | None = None) -> Callable[[Completion], Any]:
    """The completion's parse; ``prefix``: the cut-off answer that completion continues."""

    def validate(c: Completion) -> Any:
        if c.stop_reason == "refusal":
            return _REFUSED
        if c.stop_reason == "max_tokens":
            return _TRUNCATED
        return parse(c.text) if prefix is None else _parse_joined(parse, prefix, c.text)

    return validate


def _parse_joined(parse: Callable[[str], Any], prefix: str, text: str) -> Any:
    """The parse of a cut-off answer and its continuation, joined as the model wrote them (noted)."""
    whole, notes = continuation.join(prefix, text)
    parsed = parse(whole)
    if notes and isinstance(parsed, Parsed):
        return Parsed(parsed.data, (*notes, *parsed.repairs))
    return parsed


# The act parser of each kind of role, and the validator of every parser the agent's own calls use, made
# once: a closure made per call holds cells that thousands of calls in flight keep for the collector.
_ACT_PARSERS: dict[tuple[bool, bool], Callable[[str], Any]] = {
    (d, s): functools.partial(parse_act, require_decision=d, require_score=s)
    for d in (False, True)
    for s in (False, True)
}
_VALIDATORS = {p: _validator(p) for p in (parse_plan, *_ACT_PARSERS.values())}


class LlmAgentMixin:
    role: Role
    _gateway: Gateway | None = None
    _gateway_settings: tuple[str, str, str | None] | None = None
    _builder: PromptBuilder | None = None  # the last one used (stateless: the same for every call)

    # -- plumbing ------------------------------------------------------------------------
    async def _standalone_gateway(self, context: AgentContext) -> CallGateway:
        """The gateway of an agent used on its own (the guide's snippet; an engine passes its own in the
        context): one backend per (mode, provider, key), so a later context with other settings is served
        by them, not by the first one's. A replaced backend's client is closed; a key is kept as its
        digest only."""
        check_model(self._model(context), allow_unknown=True)  # the engine's checks do not run here
        key = context.llm_api_key
        digest = hashlib.sha256(key.get_secret_value().encode()).hexdigest() if key is not None else None
        settings = (context.mode, context.llm_provider, digest)
        if self._gateway is None or self._gateway_settings != settings:  # no ledger, no budget
            from ..llm.gateway import Gateway
            from ..llm.selection import select_backend

            await self.aclose()  # the replaced backend's client
            choice = select_backend(context.mode, provider=context.llm_provider, api_key=key)
            self._gateway, self._gateway_settings = Gateway(choice.backend), settings
        return self._gateway

    async def aclose(self) -> None:
        """Close the client of the backend this agent made on its own, if any (an engine's is the
        engine's to close)."""
        old, self._gateway, self._gateway_settings = self._gateway, None, None
        if old is not None and (aclose := getattr(old.backend, "aclose", None)) is not None:
            await aclose()

    def close(self) -> None:
        """``aclose`` for scripts: after the guide's snippet in real mode, no socket is left open."""
        run_sync(self.aclose())

    def _model(self, context: AgentContext) -> str:
        return context.model or DEFAULT_MODEL

    def _max_tokens(self, context: AgentContext) -> int:
        return context.max_tokens or self.role.default_max_tokens

    def _builder_vars(self, state: ProjectState, context: AgentContext) -> dict[str, Any]:
        return dict(
            project_name=state.project_name,
            request=state.request,
            inputs=state.artifacts_of(self.role.consumes),
            round=state.design_round,
            feedback=state.feedback.get(self.role.id, []),
            extra_instructions=context.extra_instructions,
        )

    def _request(
        self,
        step: Step,
        state: ProjectState,
        context: AgentContext,
        **extra: Any,
    ) -> LLMRequest:
        labels = unchecked(  # text of our own records (a context's run id is validated text)
            RequestLabels, run_id=context.run_id, agent=self.role.id, phase=self.role.phase.value, step=step
        )
        builder = self._builder
        if builder is None or builder.role is not self.role or builder.cache_ttl != context.cache_ttl:
            builder = self._builder = PromptBuilder(self.role, cache_ttl=context.cache_ttl)
        return builder.build(
            step,
            model=self._model(context),
            max_tokens=self._max_tokens(context),
            labels=labels,
            **self._builder_vars(state, context),
            **extra,
        )

    async def _ask(
        self, gw: CallGateway, request: LLMRequest, parse: Callable[[str], Any]
    ) -> tuple[Any, bool]:
        """Returns (parsed, truncated). One continuation, then at most one re-ask."""
        try:
            return await self._ask_once(gw, request, parse)
        except ParseError as first:
            note = (
                f"\n\nNote: an earlier reply could not be read ({first}). "
                "Reply again with only the complete JSON object."
            )
            msgs = (*request.messages[:-1], Message(role="user", content=request.messages[-1].content + note))
            reask = request.model_copy(
                update={"messages": msgs, "labels": request.labels.model_copy(update={"step": "reask"})}
            )
            try:
                return await self._ask_once(gw, reask, parse)
            except ParseError as exc:  # named: in a run of eight agents the parser's reason alone says little
                agent, step = self.role.id, request.labels.step
                raise ParseError(
                    f"{agent} {step}: {exc}", excerpt=exc.excerpt, agent=agent, step=step
                ) from exc

    async def _ask_once(
        self, gw: CallGateway, request: LLMRequest, parse: Callable[[str], Any]
    ) -> tuple[Any, bool]:
        validate = _VALIDATORS.get(parse) or _validator(parse)
        completion, value = await gw.complete(request, validate=validate, status_of=_status)
        if value is _REFUSED:
            raise RefusalError(
                f"{self.role.id} refused the task: {completion.text.strip()[:300] or '(no reason)'}",
                attempts=[],
            )
        if value is not _TRUNCATED:
            return value, completion.stop_reason in _CUT_SHORT
        prefix = completion.text
        turn = continuation.shown_turn(prefix)
        cont = request.model_copy(
            update={
                "messages": (
                    *request.messages,
                    Message(role="assistant", content=turn),
                    Message(role="user", content=CONTINUE_NOTE),
                ),
                "labels": request.labels.model_copy(update={"step": "continue"}),
            }
        )
        completion2, value2 = await gw.complete(cont, validate=_validator(parse, prefix), status_of=_status)
        if value2 is _REFUSED:
            raise RefusalError(
                f"{self.role.id} refused while continuing: {completion2.text.strip()[:300]}", attempts=[]
            )
        if value2 is _TRUNCATED:  # still cut off: keep what local repair can save, marked truncated
            return _parse_joined(parse, prefix, completion2.text), True
        return value2, False

    # -- the guide's two methods ----------------------------------------------------------
    async def _llm_plan(
        self,
        task: TaskDefinition,
        phase: PhaseType | str | None,
        project_state: ProjectState,
        context: AgentContext,
    ) -> AgentPlan:
        gw = context.gateway if context.gateway is not None else await self._standalone_gateway(context)
        parsed, truncated = await self._ask(gw, self._request("plan", project_state, context), parse_plan)
        data, repairs = parsed.data, parsed.repairs
        if repairs and not truncated:
            truncated = any(r.startswith("truncated") for r in repairs)
        return unchecked(  # the parser's validated text
            AgentPlan,
            agent=self.role.id,
            phase=PhaseType(phase) if phase else self.role.phase,
            summary=data.summary,
            steps=data.steps,
            planned_artifacts=[
                {"filename": a.filename, "kind": a.kind, "purpose": a.purpose} for a in data.artifacts
            ],
            raw="",
            truncated=truncated,
            repairs=list(repairs),
        )

    async def _llm_act(
        self, plan: AgentPlan, project_state: ProjectState, context: AgentContext
    ) -> AgentOutput:
        gw = context.gateway if context.gateway is not None else await self._standalone_gateway(context)
        role = self.role
        parse = _ACT_PARSERS[bool(role.needs_decision), bool(role.needs_score)]
        request = self._request("act", project_state, context, plan=plan)
        parsed, truncated = await self._ask(gw, request, parse)
        data = parsed.data
        truncated = truncated or any(r.startswith("truncated") for r in parsed.repairs)
        artifacts = []  # a loop: a comprehension would make ``role`` and ``truncated`` cells for the call
        for a in data.artifacts:  # the parser's validated text: made without validation
            artifacts.append(
                unchecked(
                    Artifact,
                    filename=a.filename,
                    content=a.content,
                    kind=a.kind,
                    agent=role.id,
                    truncated=truncated,
                )
            )
        fields: dict[str, Any] = dict(
            agent=role.id,
            phase=plan.phase,
            summary=data.summary,
            artifacts=artifacts,
            decision=data.decision,  # the parser's own Decision and Score (records' classes), not copies
            score=data.score,
            truncated=truncated,
            repairs=list(parsed.repairs),
        )
        if type(plan.phase) is PhaseType:  # a caller's plan may hold anything: validated then
            return unchecked(AgentOutput, **fields)
        return AgentOutput(**fields)
