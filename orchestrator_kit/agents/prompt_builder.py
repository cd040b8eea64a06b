"""Builds LLMRequests from the role templates in prompts/ (jinja2, StrictUndefined).

One template per role; each extends ``_base.j2``. The system prompt is, longest stable prefix first:
the team charter (``_team.j2``, the same for every agent), the project, the upstream artifacts, then
the role's instructions. The plan step's user turn is ``plan_request``; the act step continues that
conversation (the plan as the assistant turn, then ``act_request``), so the plan call's prompt is
the act call's cached prefix.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache, lru_cache
from importlib import resources
from json.encoder import encode_basestring as _encode_string
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Literal

from ..llm.replay import RECORDING_LAYOUT
from ..llm.types import LLMRequest, Message, RequestLabels, SystemBlock
from ..records import unchecked
from . import prompt_skeleton
from .roles import Role, get_role

if TYPE_CHECKING:
    import jinja2
    import jinja2.nodes

    from ..records import AgentPlan, Artifact

Step = Literal["plan", "act"]
PROMPTS_PACKAGE = "orchestrator_kit.prompts"
# The shape of the requests built here. Recordings and run folders made with another layout cannot
# be replayed or resumed by this version: their request hashes would never match.
PROMPT_LAYOUT = RECORDING_LAYOUT
_artifact_texts = attrgetter(*prompt_skeleton.TEXT_FIELDS)
SECTION_MARK = "\x00section:"  # NULs are stripped from every input, so no input can forge a section


def _strip_nul(text: str) -> str:
    return text.replace("\x00", "") if "\x00" in text else text


def _clean_artifact(a: Artifact) -> Artifact:
    """``a`` with NULs stripped from every text field (the file name and kind too: a model's answer
    may hold a NUL in any of them, and none may forge a section)."""
    for text in _artifact_texts(a):  # each field searched in place (joining them would copy the content)
        if "\x00" in text:
            return a.model_copy(update={f: _strip_nul(getattr(a, f)) for f in prompt_skeleton.TEXT_FIELDS})
    return a


def _plan_json(summary: Any, steps: Any, artifacts: Any) -> str:
    """``json.dumps({"summary", "steps", "artifacts"}, ensure_ascii=False, indent=1)``, the plan as the
    act call's assistant turn. The json module's indented output is pure Python; for the plan's own
    shape (text, a list of texts, a list of text -> text objects) it is written here with the json
    module's own string encoder, byte for byte the same (tests/unit/test_prompt_skeleton.py)."""
    plain = (
        type(summary) is str
        and type(steps) is list
        and type(artifacts) is list
        and all(type(x) is str for x in steps)
        and all(type(a) is dict and all(type(k) is type(v) is str for k, v in a.items()) for a in artifacts)
    )
    if not plain:
        data = {"summary": summary, "steps": steps, "artifacts": artifacts}
        return json.dumps(data, ensure_ascii=False, indent=1)
    q = _encode_string
    out = ['{\n "summary": ', q(summary), ',\n "steps": ']
    out.append("[\n  " + ",\n  ".join(map(q, steps)) + "\n ]" if steps else "[]")
    out.append(',\n "artifacts": ')
    if artifacts:
        items = [
            "{\n   " + ",\n   ".join(q(k) + ": " + q(v) for k, v in a.items()) + "\n  }" if a else "{}"
            for a in artifacts
        ]
        out.append("[\n  " + ",\n  ".join(items) + "\n ]")
    else:
        out.append("[]")
    out.append("\n}")
    return "".join(out)


def _root() -> Any:
    return resources.files(PROMPTS_PACKAGE)


@lru_cache(maxsize=1)
def _sources() -> dict[str, tuple[str, str]]:
    """Every template's text and sha256 (first 12 hex), read together once per process: what renders
    and what the run manifest names are the same bytes. An edit on disk shows in the next process."""
    out = {}
    for entry in sorted(_root().iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".j2") and entry.is_file():
            data = entry.read_bytes()
            text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as read_text does
            out[entry.name] = (text, hashlib.sha256(data).hexdigest()[:12])
    return out


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    import jinja2

    def load(name: str) -> str | None:
        found = _sources().get(name)
        if found is not None:
            return found[0]
        entry = _root().joinpath(name)  # e.g. a part in a subfolder that a template includes (loaded once)
        return entry.read_text(encoding="utf-8") if entry.is_file() else None

    return jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def template_hashes() -> dict[str, str]:
    """sha256 (first 12 hex) of every template, for the run manifest: of the very bytes that render
    (read once per process with the templates, see ``_sources``)."""
    return {name: digest for name, (_, digest) in _sources().items()}


def _forget_templates() -> None:
    """Drop every template, hash and skeleton read or rendered so far: what a new process would see
    (for tests; a running process never rereads its templates)."""
    for cached in (_sources, _environment, _template, _tree, _fillable, _skeleton):
        cached.cache_clear()


@cache
def _template(name: str) -> jinja2.Template:
    """A template by name, loaded once per process (the environment never reloads one either)."""
    return _environment().get_template(name)


@cache
def _tree(name: str) -> jinja2.nodes.Template:
    """A template's syntax tree (parsed once: role templates share the base and the team charter)."""
    env = _environment()
    assert env.loader is not None
    return env.parse(env.loader.get_source(env, name)[0])


@cache
def _fillable(name: str) -> bool:
    return prompt_skeleton.fillable(_tree, name)


@lru_cache(maxsize=1024)
def _skeleton(role: Role, shape: tuple[Any, ...]) -> prompt_skeleton.Skeleton | None:
    """Role ``role``'s template rendered once for ``shape`` with placeholders (see prompt_skeleton);
    None when the template cannot be filled in (rendered in full on every call instead)."""
    name = f"{role.id}.j2"
    if not _fillable(name):
        return None
    variables = prompt_skeleton.placeholders(shape, role)
    text = _template(name).render(**variables, section_mark=SECTION_MARK)
    try:
        return prompt_skeleton.Skeleton(text, SECTION_MARK)
    except ValueError:
        return None


# Blocks whose text is filled in per call (the project, each upstream artifact) recur: an agent's act
# call repeats its plan call's system prompt, and an artifact is an input block of each role that reads
# it. Blocks are frozen, so one object serves every request with the same text and cache marking. Found by
# (length, marking), then compared (a memory compare, cheaper than hashing a new string); bounded.
_MAX_SHARED_CHARS = 256_000


class _SharedBlocks:
    __slots__ = ("by_key", "chars")

    def __init__(self) -> None:
        self.by_key: dict[tuple[int, str | None], list[SystemBlock]] = {}
        self.chars = 0

    def get(self, text: str, ttl: Literal["5m", "1h"] | None) -> SystemBlock:
        key = (len(text), ttl)
        found = self.by_key.get(key)
        if found is not None:
            for b in found:
                if b.text == text:
                    return b
        block = SystemBlock(text=text, cache_ttl=ttl)
        self.chars += len(text)
        if self.chars > _MAX_SHARED_CHARS:  # start afresh: blocks are made again
            self.by_key.clear()
            self.chars = len(text)
            found = None
        if found is None:
            self.by_key[key] = [block]
        else:
            found.append(block)
        return block


_shared_block = _SharedBlocks().get
_Made = dict[tuple[str, str | None], Any]
_INPUT_NAMES = ("\x00inputs", None)  # in a skeleton's ``made``: its input sections' names (no name has a NUL)


def _block(
    s: dict[str, str], fixed: frozenset[str], made: _Made, name: str, ttl: Literal["5m", "1h"] | None
) -> SystemBlock:
    """Section ``name`` as a system block: one frozen block per text (a section without holes: the
    same text on every call of its skeleton, so the skeleton keeps its block)."""
    if name not in fixed:
        return _shared_block(s[name], ttl)
    found: SystemBlock | None = made.get((name, ttl))
    if found is None:
        found = made[name, ttl] = _shared_block(s[name], ttl)
    return found


def _user_turn(
    s: dict[str, str], fixed: frozenset[str], made: _Made, name: str, ttl: Literal["5m", "1h"] | None
) -> Message:
    if name not in fixed:
        return Message(role="user", content=s[name], cache_ttl=ttl)
    found: Message | None = made.get(("user:" + name, ttl))
    if found is None:
        found = made["user:" + name, ttl] = Message(role="user", content=s[name], cache_ttl=ttl)
    return found


class PromptBuilder:
    """Renders a role's template into an LLMRequest for the plan or act step."""

    def __init__(self, role: Role | str, *, cache_ttl: Literal["5m", "1h"] | None = "5m") -> None:
        self.role = get_role(role) if isinstance(role, str) else role
        self.cache_ttl = cache_ttl
        self._name = f"{self.role.id}.j2"
        _template(self._name)  # a role without a template fails here, not at its first call
        try:  # skeletons are kept per role: one with lists where tuples are typed is rendered in full
            self._keyed = hash(self.role) is not None
        except TypeError:
            self._keyed = False

    def render_sections(self, variables: dict[str, Any]) -> dict[str, str]:
        """Render once; the base template starts each section with a ``<NUL>section:NAME>>>`` line.
        NUL characters are stripped from every input first, so no request can forge a section."""
        text = _template(self._name).render(**variables, section_mark=SECTION_MARK)
        sections = {}
        for chunk in text.split(SECTION_MARK)[1:]:
            name, _, body = chunk.partition(">>>")
            sections[name.strip()] = body.strip()
        return sections

    def variables(
        self,
        *,
        project_name: str,
        request: str,
        inputs: list[Artifact],
        round: int = 1,
        feedback: list[str] | None = None,
        extra_instructions: str = "",
        plan: AgentPlan | None = None,
    ) -> dict[str, Any]:
        plan_json = "" if plan is None else _plan_json(plan.summary, plan.steps, plan.planned_artifacts)
        clean = _strip_nul
        return {
            "role": self.role,
            "project_name": clean(project_name),
            "request": clean(request),
            "inputs": [_clean_artifact(a) for a in inputs],
            "round": round,
            "feedback": [clean(r) for r in feedback or []],
            "extra_instructions": clean(extra_instructions),
            "plan_json": clean(plan_json),
        }

    def sections(self, values: dict[str, Any]) -> dict[str, str]:
        """The rendered sections for ``values`` (from ``variables``): the role's skeleton for their
        shape filled in, or a full rendering when the template cannot be filled in."""
        return self._filled(values)[0]

    def _filled(self, values: dict[str, Any]) -> tuple[dict[str, str], prompt_skeleton.Skeleton | None]:
        shaped = prompt_skeleton.shape_of(values) if self._keyed else None
        if shaped is not None:
            texts, shape = shaped
            skeleton = _skeleton(self.role, shape)
            if skeleton is not None:
                return skeleton.fill(texts), skeleton
        return self.render_sections(values), None

    def build(
        self,
        step: Step,
        *,
        model: str,
        max_tokens: int,
        labels: RequestLabels,
        **variables: Any,
    ) -> LLMRequest:
        """The plan request, or the act request that continues the plan conversation.

        Cache breakpoints (at most 4), at the longest stable prefixes: the shared project prefix
        (team charter + project; ``cache_ttl``), the first and the last upstream artifact (5m), and
        the plan turn (5m), which the act call of the same agent reads back. ``cache_ttl=None``: none.
        """
        if step == "act" and variables.get("plan") is None:
            raise ValueError("the act step continues the plan conversation: pass plan=")
        values = self.variables(**variables)
        s, skeleton = self._filled(values)
        s["plan_json"] = values["plan_json"]
        if skeleton is not None:
            fixed, made = skeleton.fixed, skeleton.made
            inputs = made.get(_INPUT_NAMES)
            if inputs is None:  # the same section names on every call of a shape
                inputs = made[_INPUT_NAMES] = [name for name in s if name.startswith("input_")]
        else:
            fixed, made = frozenset(), {}
            inputs = [name for name in s if name.startswith("input_")]
        ttl = self.cache_ttl
        short: Literal["5m"] | None = "5m" if ttl else None
        last = len(inputs) - 1
        system = (
            _block(s, fixed, made, "team", None),
            _block(s, fixed, made, "project", ttl),
            *[
                _block(s, fixed, made, name, short if i in (0, last) else None)
                for i, name in enumerate(inputs)
            ],
            _block(s, fixed, made, "instructions", None),
        )
        plan_turn = _user_turn(s, fixed, made, "plan_request", short)
        if step == "plan":
            messages: tuple[Message, ...] = (plan_turn,)
        else:
            messages = (
                plan_turn,
                unchecked(Message, role="assistant", content=s["plan_json"], cache_ttl=None),
                _user_turn(s, fixed, made, "act_request", None),
            )
        if (
            type(model) is str
            and type(max_tokens) is int
            and max_tokens > 0
            and type(labels) is RequestLabels
        ):
            # typed values, blocks and turns made here: no validation (anything else is validated, and fails)
            return unchecked(
                LLMRequest,
                model=model,
                system=system,
                messages=messages,
                max_tokens=max_tokens,
                stop_sequences=(),
                labels=labels,
            )
        return LLMRequest(model=model, system=system, messages=messages, max_tokens=max_tokens, labels=labels)
