"""One place picks a backend: ``select_backend``, through the registry, which a third-party package can
extend with an entry point (``orchestrator_kit.backends``). The third-party package here is real: a
module and its ``.dist-info`` (METADATA + entry_points.txt) in a temporary folder put on ``sys.path``,
found by ``importlib.metadata`` exactly as an installed distribution would be."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator_kit.engine.engine import WorkflowEngine
from orchestrator_kit.errors import ConfigError
from orchestrator_kit.llm import registry as backend_module
from orchestrator_kit.llm.backend import Backend
from orchestrator_kit.llm.registry import ENTRY_POINT_GROUP, backend_names, create_backend, register_backend
from orchestrator_kit.llm.replay import RecordingBackend
from orchestrator_kit.llm.selection import select_backend
from orchestrator_kit.llm.simulated import SimulatedBackend

PLUGIN = '''
from orchestrator_kit.llm.simulated import SimulatedBackend


class EchoBackend(SimulatedBackend):
    """A third party's backend: the simulated answers under its own mode name."""

    mode = "{name}"

    def __init__(self, *, label: str = "none", **options):
        super().__init__(**options)
        self.label = label
'''


@pytest.fixture(autouse=True)
def _fresh_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backends registered or loaded by a test do not outlive it."""
    monkeypatch.setattr(backend_module, "_REGISTRY", dict(backend_module.BUILTIN_BACKENDS))


def _install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, target: str, module: str) -> None:
    """A distribution ``{module}-dist`` declaring backend ``name`` -> ``target``, importable from tmp_path."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / f"{module}.py").write_text(PLUGIN.format(name=name), encoding="utf-8")
    info = site / f"{module}_dist-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {module}-dist\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{name} = {target}\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))


def test_a_backend_declared_by_another_package_is_found_and_runs_a_workflow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install(tmp_path, monkeypatch, "echo", "okit_echo_plugin:EchoBackend", "okit_echo_plugin")
    assert "echo" in backend_names()
    choice = select_backend("echo", backend_options={"label": "from-options", "latency_s": 0.0})
    assert choice.mode == "echo" and choice.backend.label == "from-options"  # type: ignore[attr-defined]
    assert type(choice.backend).__module__ == "okit_echo_plugin"

    engine = WorkflowEngine(mode="echo", agents=["architect"], output_dir=tmp_path / "runs")
    result = engine.run("a CLI that converts CSV to JSON")
    assert result.ok and result.mode == "echo"
    manifest = json.loads((result.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["mode"] == "echo" and {ln.mode for ln in result.calls} == {"simulated"}


def test_a_backend_package_that_fails_to_import_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install(tmp_path, monkeypatch, "broken", "okit_no_such_module:Nope", "okit_broken_plugin")
    with pytest.raises(
        ConfigError, match=r"backend 'broken' .*okit_broken_plugin-dist.* could not be loaded"
    ):
        select_backend("broken")


def test_an_unknown_mode_lists_the_modes_and_registered_backends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install(tmp_path, monkeypatch, "echo2", "okit_echo2_plugin:EchoBackend", "okit_echo2_plugin")
    with pytest.raises(
        ConfigError, match=r"unknown mode 'nope'; choose one of: auto, simulated, real, replay, .*echo2"
    ):
        select_backend("nope")


def test_register_backend_in_process_and_refuse_what_is_not_a_backend(tmp_path: Path) -> None:
    register_backend("sim_again", SimulatedBackend)
    assert isinstance(create_backend("sim_again", consensus_rejections=1), SimulatedBackend)
    register_backend("not_a_backend", lambda **kw: object())
    with pytest.raises(ConfigError, match="returned object"):
        select_backend("not_a_backend")
    with pytest.raises(ConfigError, match="identifier"):
        register_backend("no spaces", SimulatedBackend)


def test_the_builtin_modes_create_their_backends_through_the_registry() -> None:
    assert {"simulated", "anthropic", "replay"} <= set(backend_names())
    sim = select_backend("simulated", simulated_options={"consensus_rejections": 2})
    assert isinstance(sim.backend, SimulatedBackend) and sim.backend.consensus_rejections == 2
    real = select_backend(
        "real", api_key="sk-ant-test-fake", key_source="your settings", base_url="http://127.0.0.1:9"
    )
    assert real.mode == "real" and real.key_source == "your settings" and "sk-ant" not in repr(real.backend)


def test_a_given_backend_is_used_as_is_and_still_recorded(tmp_path: Path) -> None:
    backend = SimulatedBackend()
    assert select_backend(backend=backend).backend is backend
    engine = WorkflowEngine(
        backend=backend, agents=["architect"], record_to=tmp_path / "rec.jsonl", output_dir=tmp_path / "runs"
    )
    assert isinstance(engine.choice.backend, RecordingBackend) and engine.mode == "simulated"
    engine.run("a CLI that converts CSV to JSON")
    assert len((tmp_path / "rec.jsonl").read_text(encoding="utf-8").splitlines()) == 2
    assert isinstance(engine.choice.backend, Backend)


def test_an_unknown_provider_is_refused_by_the_selection() -> None:
    with pytest.raises(
        ConfigError, match="unknown llm_provider 'openai'; the supported provider is 'anthropic'"
    ):
        select_backend("simulated", provider="openai")
