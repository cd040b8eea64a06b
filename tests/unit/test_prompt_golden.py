"""The bytes of every prompt are pinned: the request hash of each call of the default workflow and of
builder calls with every kind of input (feedback, later rounds, extra instructions, NULs, non-ASCII,
no inputs, each cache setting). A change here means recordings and run folders made before it no
longer replay or resume: only change these values together with ``PROMPT_LAYOUT``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator_kit.agents.prompt_builder import PromptBuilder
from orchestrator_kit.agents.roles import ROLE_IDS, get_role
from orchestrator_kit.engine.engine import WorkflowEngine
from orchestrator_kit.engine.state_models import AgentPlan, Artifact
from orchestrator_kit.llm.types import RequestLabels

REQUEST = "Build a CLI that converts CSV files to JSON, with validation and a summary report"

# (agent, step, request hash) of every call of the default simulated workflow, in ledger order
WORKFLOW_HASHES: list[tuple[str, str, str]] = [
    ("architect", "plan", "a6c85a51deb68a15ad94f6574cdd038df64375ab22a790c02d300978e98e896a"),
    ("architect", "act", "44d37ec139c8580a5f2c417c7d9442ed56cb5d97ed241ea06dc8e0343c7ae62e"),
    ("data", "plan", "d5c9fa5485cf13a7e3a94f25bb385b0e14218e017c4079020bea946fe1a25457"),
    ("data", "act", "35a9efc16cf4c5f1479a1ef18a5fd47b9d5868eff08133b723c604cb423b68be"),
    ("consensus", "plan", "f1e9b90d6c6a029c689fae5b31491870d942f5e7ed9f7f30aed76c895fa53e97"),
    ("consensus", "act", "80d24e71d9b28e5a8768aa683d805d8a1c8cc066acb86ce3efcb1a1504b1721e"),
    ("developer", "plan", "e5dda9c85bcaf3fbf4ab9f4a591ae1df0b4dd8b8a4b7a0eb2778dba2ee17da83"),
    ("developer", "act", "ae53bc7699ef22634912b693b4d7d5bd186da89981d6eaa8ebf55afc3afa5fb2"),
    ("qa", "plan", "d61b12916e07be085a03ae92f3d8adba573145811a00da984d04d400836e6cec"),
    ("qa", "act", "78e6b28254908140716a07925f2dfbf676d531b2ff3a8082da2310ddd37a12ba"),
    ("documentarian", "plan", "439ab806f93a21385bf8c70ff03af61f35f7bec5119b6885c03cec55d00ab20d"),
    ("documentarian", "act", "84ef6d809a0347b7b0fee11679dcbfd78e0561856025778a9db2f85c0a803fd0"),
    ("reviewer", "plan", "031bc81233406d2ca1af8a2329e1ab47901f6d8346a5a0295f10bb606ebfed24"),
    ("reviewer", "act", "bd3393a8ec43d54a2b76da77a9b86817ccd06472430f750adcfab7f39fc6a170"),
    ("steward", "plan", "58a54777220938623eebe3fe6d9dd8c02666661bb6e34e4850739479ff18c476"),
    ("steward", "act", "eefa7c88849c0d1406994d5eadd8118b57d3bdd743e5f9d1b0d24ecdae036a0b"),
]

# sha256 over the request hashes of every builder case below, in order
BUILDER_DIGEST = "4075fd7590e2378d78b5c89b80fd3e86b39a24b57b0f7e3dd1801c9aebb958f7"


def test_the_default_workflow_sends_the_same_requests_as_before(tmp_path: Path) -> None:
    result = WorkflowEngine(mode="simulated", output_dir=tmp_path).run(REQUEST)
    assert result.ok
    lines = [json.loads(x) for x in (result.run_dir / "calls.jsonl").read_text().splitlines()]
    got = [(r["agent"], r["step"], r["request_hash"]) for r in lines]
    assert sorted(got) == sorted(WORKFLOW_HASHES)  # qa and documentarian run side by side


def _inputs(role_id: str, content: str) -> list[Artifact]:
    return [
        Artifact(filename=f"{up}.md", agent=up, kind="markdown", content=f"{content} from {up}")
        for up in get_role(role_id).consumes
    ]


def _plan(role_id: str, summary: str = "PLAN") -> AgentPlan:
    return AgentPlan(
        agent=role_id,
        phase=get_role(role_id).phase,
        summary=summary,
        steps=["one", "two"],
        planned_artifacts=[{"filename": "out.md", "kind": "markdown", "purpose": "p"}],
    )


CASES: list[dict[str, Any]] = [
    {},
    {"round": 2, "feedback": ["add tests for empty files", "name the CLI"]},
    {"round": 3, "feedback": ["one reason"]},
    {"extra_instructions": "Be brief.\nUse {{ braces }} and {% tags %} literally."},
    {"content": "  leading and trailing space \n\n", "request": "  padded request\n"},
    {"content": "NUL\x00inside\x00section:team>>>", "project_name": "p\x00n", "request": "r\x00q"},
    {"content": "non-ASCII: café, 日本, emoji 🎉, quotes \" ' and <tags>", "project_name": "café"},
    {"content": ""},
    {"no_inputs": True},
    {"cache_ttl": None},
    {"cache_ttl": "1h", "feedback": ["x"], "extra_instructions": "e"},
]


def _case_requests() -> list[Any]:
    out = []
    for case in CASES:
        for role_id in ROLE_IDS:
            inputs = [] if case.get("no_inputs") else _inputs(role_id, case.get("content", "BODY"))
            variables: dict[str, Any] = {
                "project_name": case.get("project_name", "csv2json"),
                "request": case.get("request", REQUEST),
                "inputs": inputs,
                "round": case.get("round", 1),
                "feedback": case.get("feedback", []),
                "extra_instructions": case.get("extra_instructions", ""),
            }
            builder = PromptBuilder(role_id, cache_ttl=case.get("cache_ttl", "5m"))
            for step in ("plan", "act"):
                extra = {"plan": _plan(role_id, case.get("content", "PLAN"))} if step == "act" else {}
                out.append(
                    builder.build(
                        step,
                        model="claude-sonnet-5-5",
                        max_tokens=4096,
                        labels=RequestLabels(agent=role_id, step=step),
                        **variables,
                        **extra,
                    )
                )
    return out


def test_builder_cases_give_the_same_requests_as_before() -> None:
    digest = hashlib.sha256()
    for req in _case_requests():
        digest.update(req.request_hash().encode())
    assert digest.hexdigest() == BUILDER_DIGEST


@pytest.mark.parametrize("role_id", ROLE_IDS)
def test_each_section_is_its_own_block(role_id: str) -> None:
    req = _case_requests()[ROLE_IDS.index(role_id) * 2 + 1]  # the first case's act request
    assert req.labels.agent == role_id
    assert "<team_charter>" in req.system[0].text and "<project_name>csv2json" in req.system[1].text
    assert req.messages[1].role == "assistant" and req.messages[2].content.startswith("<step>act</step>")
