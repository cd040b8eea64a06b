"""One place picks a backend: ``llm/selection.py``'s ``select_backend``, through the registry.

An AST scan of every module of the package: no module but the decider and the registry constructs a
backend class or calls the registry's factories. What the sweep needs (Message Batches, a shared rate
limiter, a batch journal) goes through ``select_backend(real_backend=..., real_options=...)``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator_kit.engine.engine import WorkflowEngine
from orchestrator_kit.errors import ConfigError
from orchestrator_kit.llm.selection import select_backend

PACKAGE = Path(__file__).resolve().parents[2] / "orchestrator_kit"
DECIDERS = {"llm/selection.py", "llm/registry.py"}
# Known exceptions, each with its reason; the test fails when one is no longer needed.
ALLOWED = {
    ("llm/batches.py", "AnthropicBackend"): "the batches backend's own Messages API client (count, errors)",
}
FACTORIES = {"create_backend", "backend_factory"}


def _backend_classes() -> set[str]:
    """Every ``*Backend`` class of llm/ with an ``async def complete`` (the Protocol excluded; the
    gateway, which wraps the chosen backend, is not one)."""
    names = set()
    for path in (PACKAGE / "llm").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.ClassDef)
                and node.name.endswith("Backend")
                and any(isinstance(f, ast.AsyncFunctionDef) and f.name == "complete" for f in node.body)
            ):
                names.add(node.name)
    return names


BACKENDS = _backend_classes()


def _constructions(source: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if name in BACKENDS or name in FACTORIES:
                found.append((node.lineno, name))
    return found


def test_the_scan_knows_the_backends() -> None:
    assert {
        "SimulatedBackend",
        "AnthropicBackend",
        "BatchesBackend",
        "ReplayBackend",
        "RecordingBackend",
    } <= (BACKENDS)
    assert _constructions("x = llm.batches.BatchesBackend(journal=j)\ncreate_backend('simulated')") == [
        (1, "BatchesBackend"),
        (2, "create_backend"),
    ]


def test_no_module_but_the_decider_constructs_a_backend() -> None:
    found, used = [], set()
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in DECIDERS:
            continue
        for line, name in _constructions(path.read_text(encoding="utf-8")):
            if (rel, name) in ALLOWED:
                used.add((rel, name))
            else:
                found.append(f"{rel}:{line} {name}(...)")
    assert not found, f"backends are chosen and created by llm.selection.select_backend only: {found}"
    assert used == set(ALLOWED), f"no longer needed in ALLOWED: {sorted(set(ALLOWED) - used)}"


def test_select_backend_builds_the_sweeps_batches_backend(tmp_path: Path) -> None:
    journal = tmp_path / "batches.jsonl"
    choice = select_backend(
        "real",
        api_key="sk-ant-test-fake",
        real_backend="batches",
        real_options={"journal": journal, "active_runs": lambda: 3},
    )
    backend = choice.backend
    assert (type(backend).__name__, choice.mode, choice.key_source) == ("BatchesBackend", "real", "argument")
    assert backend.journal.path == journal and backend.active_runs() == 3  # type: ignore[attr-defined]


def test_real_options_apply_only_when_the_choice_is_real() -> None:
    from orchestrator_kit.llm.ratelimit import RateLimiter

    limiter = RateLimiter(rpm=10)
    real = select_backend("real", api_key="sk-ant-test-fake", real_options={"rate_limiter": limiter})
    assert real.backend.rate_limiter is limiter  # type: ignore[attr-defined]
    auto = select_backend(
        "auto", env={}, dotenv_path="/nonexistent/.env", real_options={"rate_limiter": limiter}
    )
    assert auto.mode == "simulated"


def test_an_unknown_real_backend_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"unknown real backend 'fast'.*'anthropic', 'batches'"):
        select_backend("simulated", real_backend="fast")


# -- one list of the backend's keywords ----------------------------------------------------------------


def test_the_engine_and_the_decider_share_one_list_of_backend_keywords() -> None:
    import inspect

    from orchestrator_kit.llm.selection import BackendOptions, SelectOptions

    engine_params = inspect.signature(WorkflowEngine.__init__).parameters
    assert not set(BackendOptions.__annotations__) & set(engine_params)  # not written out a second time
    assert engine_params["backend_keywords"].kind is inspect.Parameter.VAR_KEYWORD
    assert set(BackendOptions.__annotations__) <= set(SelectOptions.__annotations__)
    assert list(inspect.signature(select_backend).parameters) == ["mode", "options"]


def test_the_engine_passes_its_backend_keywords_through(tmp_path: Path) -> None:
    engine = WorkflowEngine(
        mode="auto",
        api_key="sk-ant-test-fake",
        key_source="a test",
        base_url="http://127.0.0.1:9",
        timeout=7.5,
        record_to=tmp_path / "rec.jsonl",
        output_dir=tmp_path,
    )
    assert (engine.mode, engine.choice.key_source, engine.timeout) == ("real", "a test", 7.5)
    assert type(engine.choice.backend).__name__ == "RecordingBackend"
    sim = WorkflowEngine(mode="simulated", simulated_options={"consensus_rejections": 1}, output_dir=tmp_path)
    assert sim.simulated_options == {"consensus_rejections": 1}
    assert sim.choice.backend.consensus_rejections == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("call", "where"),
    [  # mypy refuses these calls too (the keywords are typed): the ignores say so
        (lambda: select_backend("simulated", api_kye="x"), "select_backend()"),  # type: ignore[call-arg]
        (lambda: WorkflowEngine(mode="simulated", api_kye="x"), "WorkflowEngine()"),  # type: ignore[call-arg]
        (lambda: WorkflowEngine(mode="simulated", env={}), "WorkflowEngine()"),  # type: ignore[call-arg]
    ],
)
def test_a_misspelt_backend_keyword_is_refused(call: Callable[[], object], where: str) -> None:
    with pytest.raises(TypeError, match=rf"{re.escape(where)} got an unexpected keyword argument"):
        call()
