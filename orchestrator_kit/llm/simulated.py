"""SimulatedBackend: deterministic, template-based answers through the same seam as real mode.

It reads the documented tags our prompts carry (<project_name>, <project_request>, <artifact>,
<step>, <round>), renders the role's artifacts from ``prompts/simulated/*.j2`` and answers with
the JSON the ResponseParser reads. Usage comes from the token estimator, flagged ``estimated``;
cached prefixes are counted as the API bills them (``prompt_cache``: the model's minimum cacheable
length, the longest cached prefix read, the rest up to the last breakpoint written).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import keyword
import re
import sys
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from ..store.artifact_paths import is_reserved_name
from .pricing import min_cache_tokens
from .prompt_cache import PromptCache
from .tokens import estimate_tokens
from .types import Completion, LLMRequest, Usage

if TYPE_CHECKING:
    import jinja2

    from .backend import DeltaCallback

_TAG = {
    name: re.compile(rf"<{name}>\n?(.*?)\n?</{name}>", re.S)
    for name in ("project_name", "project_request", "step", "round", "role")
}
_ARTIFACT = re.compile(r'<artifact agent="([^"]*)" filename="([^"]*)"')

# role -> [(filename template, kind, template file)], plus the plan's steps.
_DELIVERABLES: dict[str, list[tuple[str, str, str]]] = {
    "architect": [("architecture.md", "markdown", "architect.md.j2")],
    "data": [("data_pipeline.md", "markdown", "data.md.j2")],
    "consensus": [("consensus_decision.md", "markdown", "consensus.md.j2")],
    "developer": [
        ("{module}.py", "python", "developer_module.py.j2"),
        ("test_{module}.py", "python", "developer_tests.py.j2"),
    ],
    "qa": [("qa_report.md", "markdown", "qa.md.j2")],
    "documentarian": [("user_guide.md", "markdown", "documentarian.md.j2")],
    "reviewer": [("review.md", "markdown", "reviewer.md.j2")],
    "steward": [("hygiene_report.md", "markdown", "steward.md.j2")],
}
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "of",
        "to",
        "for",
        "with",
        "in",
        "on",
        "by",
        "from",
        "into",
        "that",
        "this",
        "is",
        "are",
        "be",
        "as",
        "or",
        "it",
        "its",
        "we",
        "our",
        "you",
        "your",
        "build",
        "make",
        "create",
        "write",
        "design",
        "implement",
        "simple",
        "small",
        "tool",
        "app",
        "application",
        "system",
        "service",
        "which",
        "who",
        "what",
        "when",
        "where",
        "how",
        "should",
        "must",
        "can",
        "will",
    ]
)


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    import jinja2

    root = resources.files("orchestrator_kit.prompts").joinpath("simulated")

    def load(name: str) -> str | None:
        entry = root.joinpath(name)
        return entry.read_text(encoding="utf-8") if entry.is_file() else None

    return jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _tag(name: str, text: str, default: str = "") -> str:
    m = _TAG[name].search(text)
    return m.group(1).strip() if m else default


def _keywords(request: str, n: int = 6) -> list[str]:
    seen: dict[str, None] = {}
    for w in re.findall(r"[A-Za-z][A-Za-z0-9]+", request.lower()):
        if w not in _STOPWORDS and len(w) > 2:
            seen.setdefault(w, None)
    return list(seen)[:n] or ["feature"]


def _module_name(project_name: str, keywords: list[str]) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", project_name.lower()).strip("_")
    if not slug or slug[0].isdigit() or slug in {"untitled_project", "project"}:
        slug = "_".join(keywords[:2])
    slug = slug[:40]
    # a keyword (``lambda.py``) cannot be imported; a stdlib name (``csv.py``) shadows what pytest imports;
    # a Windows device name (``con.py``) would be renamed where it lands, breaking ``import con``
    if (
        keyword.iskeyword(slug)
        or slug in sys.stdlib_module_names
        or slug in {"pytest", "conftest"}
        or is_reserved_name(slug)
    ):
        slug += "_app"
    return slug


def _requirements(request: str) -> list[str]:
    parts = [p.strip(" .;") for p in re.split(r"[.;\n]|, and | and (?=[a-z]+s\b)", request) if p.strip(" .;")]
    return parts[:8] or [request.strip()]


class SimulatedBackend:
    """Deterministic template answers at $0; the same request gives byte-identical text."""

    mode = "simulated"

    def __init__(
        self, *, consensus_rejections: int = 0, latency_s: float = 0.0, simulate_cache: bool = True
    ) -> None:
        if consensus_rejections < 0:
            raise ValueError("consensus_rejections must be >= 0")
        self.consensus_rejections = consensus_rejections
        self.latency_s = latency_s
        self.simulate_cache = simulate_cache
        self._cache = PromptCache()

    def __repr__(self) -> str:
        return f"SimulatedBackend(consensus_rejections={self.consensus_rejections})"

    async def complete(self, request: LLMRequest, *, on_delta: DeltaCallback | None = None) -> Completion:
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        text = self.answer(request)
        if on_delta is not None:
            on_delta(text)
        return Completion(
            text=text,
            stop_reason="end_turn",
            usage=self._usage(request, text),
            model=request.model,
            mode="simulated",
            request_id="sim_" + request.request_hash()[:16],
            latency_s=self.latency_s,
        )

    # -- answers ---------------------------------------------------------------------------
    def answer(self, request: LLMRequest) -> str:
        prompt = request.prompt_text()
        agent = request.labels.agent or _tag("role", prompt, "architect")
        # the act call continues the plan conversation: the step is the latest user turn's
        turns = [m.content for m in request.messages if m.role == "user" and "<step>" in m.content]
        step = _tag("step", turns[-1] if turns else prompt, request.labels.step or "act")
        v = self._variables(agent, prompt)
        body = self._plan(agent, v) if step == "plan" else self._act(agent, v)
        return json.dumps(body, ensure_ascii=False, indent=1)

    def _variables(self, agent: str, prompt: str) -> dict[str, Any]:
        request = _tag("project_request", prompt, "the requested software")
        project_name = _tag("project_name", prompt, "Untitled project")
        keywords = _keywords(request)
        digest = hashlib.sha256(request.encode("utf-8")).digest()
        inputs = [{"agent": a, "filename": f} for a, f in _ARTIFACT.findall(prompt)]
        return {
            "agent": agent,
            "request": request,
            "project_name": project_name,
            "keywords": keywords,
            "requirements": _requirements(request),
            "module": _module_name(project_name, keywords),
            "inputs": inputs,
            "round": int(_tag("round", prompt, "1") or 1),
            "seed": digest[0],
            "score": round(6.0 + (digest[1] % 31) / 10, 1),  # 6.0 .. 9.0
        }

    def _files(self, agent: str, v: dict[str, Any]) -> list[tuple[str, str, str]]:
        return [
            (name.format(module=v["module"]), kind, tpl)
            for name, kind, tpl in _DELIVERABLES.get(agent, _DELIVERABLES["architect"])
        ]

    def _plan(self, agent: str, v: dict[str, Any]) -> dict[str, Any]:
        files = self._files(agent, v)
        read = ", ".join(i["filename"] for i in v["inputs"]) or "the project request"
        return {
            "summary": f"As {agent}, turn '{v['request'][:80]}' into {', '.join(f for f, _, _ in files)}.",
            "steps": [
                f"Read {read}.",
                f"Identify what matters for: {', '.join(v['keywords'][:4])}.",
                *[f"Write {f}." for f, _, _ in files],
                "Check the result against the request.",
            ],
            "artifacts": [{"filename": f, "kind": k, "purpose": f"{agent} deliverable"} for f, k, _ in files],
        }

    def _act(self, agent: str, v: dict[str, Any]) -> dict[str, Any]:
        env = _env()
        approved = v["round"] > self.consensus_rejections
        v = {**v, "approved": approved}
        artifacts = [
            {"filename": f, "kind": k, "content": env.get_template(tpl).render(**v)}
            for f, k, tpl in self._files(agent, v)
        ]
        out: dict[str, Any] = {
            "summary": f"{agent} produced {len(artifacts)} artifact(s) for {v['project_name']}.",
            "artifacts": artifacts,
        }
        if agent == "consensus":
            reasons = (
                [
                    "The architecture covers every stated requirement.",
                    "The data design matches the architecture's interfaces.",
                ]
                if approved
                else [
                    f"Round {v['round']}: decisions lack the alternatives considered.",
                    "Error handling between components is not specified.",
                ]
            )
            out["decision"] = {"approved": approved, "reasons": reasons}
        if agent == "reviewer":
            out["score"] = {
                "value": v["score"],
                "reasons": [
                    "Code is typed and has tests for the main paths.",
                    "Documentation matches the implemented interface.",
                    "Edge cases of the input parsing are only partly covered.",
                ],
            }
        return out

    # -- usage -------------------------------------------------------------------------------
    def _usage(self, request: LLMRequest, text: str) -> Usage:
        """Usage as the API would bill it: cache breakpoints below the model's minimum cacheable
        length cache nothing; the longest cached prefix is read, the rest up to the last breakpoint
        written (see ``prompt_cache``)."""
        output = estimate_tokens(text)
        total = estimate_tokens(request.prompt_text())
        if not self.simulate_cache:
            return Usage(input_tokens=total, output_tokens=output, estimated=True)
        from .anthropic_backend import build_params

        counts = self._cache.account(
            build_params(request), count=estimate_tokens, min_tokens=min_cache_tokens(request.model)
        )
        cached = counts["write_5m"] + counts["write_1h"] + counts["read"]
        return Usage(
            input_tokens=max(total - cached, 1) if cached else total,
            output_tokens=output,
            cache_write_5m_tokens=counts["write_5m"],
            cache_write_1h_tokens=counts["write_1h"],
            cache_read_tokens=counts["read"],
            estimated=True,
        )
