"""A model answer holding a lone surrogate (a JSON "\\ud800" escape from the API) is recorded and the run
goes on (review of #12): the response line could not be encoded as UTF-8 and ended the run after the
call was paid, on every resume again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from orchestrator_kit.engine.engine import WorkflowEngine
from orchestrator_kit.llm.anthropic_backend import AnthropicBackend
from orchestrator_kit.store import json_bytes
from orchestrator_kit.store.run_folder import read_responses
from orchestrator_kit.testing import FakeAnthropicServer, Fault
from orchestrator_kit.testing.responders import simulated_responder

KEY = "sk-ant-test-fake"


def test_a_line_with_a_lone_surrogate_is_written_as_its_escape() -> None:
    data = {"text": "a\ud800b é", "n": 1}
    raw = json_bytes.line(data)
    assert json.loads(raw) == data and b"\\ud800" in raw


def test_an_answer_with_a_lone_surrogate_is_recorded_and_the_run_completes(tmp_path: Path) -> None:
    base = simulated_responder()

    def responder(body: dict[str, Any]) -> str:
        return base(body).replace('"summary": "', '"summary": "\ud800 ', 1)

    with FakeAnthropicServer(responder=responder, require_key=KEY) as srv:
        engine = WorkflowEngine(
            backend=AnthropicBackend(KEY, base_url=srv.base_url), agents=["architect"], output_dir=tmp_path
        )
        result = engine.run("Convert CSV to JSON")
        assert result.status == "completed"
        (responses,) = tmp_path.glob("*/responses.jsonl")
        texts = [r["completion"]["text"] for r in read_responses(responses)]
        assert len(texts) == 2 and all("\ud800" in t for t in texts)
        calls = srv.count()
        resumed = WorkflowEngine.for_resume(
            responses.parent, backend=AnthropicBackend(KEY, base_url=srv.base_url)
        ).resume(responses.parent)
        assert resumed.status == "completed" and srv.count() == calls  # nothing asked again


def test_a_cut_off_answer_with_a_lone_surrogate_is_continued(tmp_path: Path) -> None:
    with FakeAnthropicServer(responder=simulated_responder(), require_key=KEY) as srv:
        srv.script(Fault.truncate('{"summary": "half \ud800 done", "steps": ["a"'))
        engine = WorkflowEngine(
            backend=AnthropicBackend(KEY, base_url=srv.base_url), agents=["architect"], output_dir=tmp_path
        )
        result = engine.run(
            "Convert CSV to JSON"
        )  # the continuation's request hash raised UnicodeEncodeError
        assert result.status == "completed"
        continued = srv.requests[1].body["messages"][1]
        assert continued["role"] == "assistant" and "half \ufffd done" in str(continued["content"])
