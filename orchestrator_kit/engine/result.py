"""RunResult: what a finished (or failed) run left, read back from its folder."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..money import format_usd
from ..records import Artifact, CallRecord, ProjectState, RunSummary, RunTotals
from ..store.run_folder import RunFolder


@dataclass
class RunResult:
    run_dir: Path
    status: str
    mode: str
    model: str
    project_state: ProjectState
    summary: RunSummary | None  # None: the run ended without writing one (killed)
    calls: list[CallRecord] = field(default_factory=list, repr=False)

    def __repr__(self) -> str:
        """One line (not every artifact's text): notebooks echo it, and ``asyncio.run`` formats the
        finished main task, result included, each time it restores the SIGINT handler."""
        cost = format_usd(self.totals.cost_usd) if self.summary is not None else "?"
        return (
            f"RunResult(run_id={self.run_id!r}, status={self.status!r}, mode={self.mode!r}, "
            f"model={self.model!r}, artifacts={len(self.artifacts)}, calls={len(self.calls)}, cost={cost})"
        )

    @property
    def run_id(self) -> str:
        return self.run_dir.name

    @property
    def ok(self) -> bool:
        return self.status == "completed"

    @property
    def artifacts(self) -> list[Artifact]:
        return [a for arts in self.project_state.artifacts.values() for a in arts]

    @property
    def truncated_artifacts(self) -> list[str]:
        """``agent/filename`` of every artifact cut off at max_tokens (its content is incomplete)."""
        return [f"{a.agent}/{a.filename}" for a in self.artifacts if a.truncated]

    @property
    def totals(self) -> RunTotals:
        """The run's totals: from its summary, or from its ledger when it has none."""
        return self.summary.totals if self.summary is not None else RunTotals.of(self.calls)

    @property
    def review_score(self) -> float | None:
        if self.summary is not None:
            return self.summary.review_score
        score = self.project_state.scores.get("reviewer")
        return None if score is None else score.value

    @property
    def evaluation(self) -> dict[str, Any] | None:
        """The run's ``evaluation.json`` (objective quality of its code), or None before evaluation."""
        p = self.run_dir / "evaluation.json"
        return json.loads(p.read_text("utf-8")) if p.is_file() else None

    def artifact(self, filename: str, agent: str | None = None) -> Artifact:
        for a in self.artifacts:
            if a.filename == filename and (agent is None or a.agent == agent):
                return a
        raise KeyError(
            f"no artifact {filename!r}; this run has: {', '.join(a.filename for a in self.artifacts)}"
        )

    @property
    def agent_totals(self) -> dict[str, RunTotals]:
        """Totals per agent, in workflow order."""
        return self.summary.agents if self.summary is not None else RunTotals.per_agent(self.calls, [])

    def table(self) -> str:
        """A plain-text per-agent table (CLI and logs). Outside real mode nothing was billed: the cost
        column is what the calls would have cost, and the last line says so ("$0 billed (would have
        cost $X)")."""
        cost_head = "cost" if self.mode == "real" else "would-cost"
        head = (
            f"{'agent':<14}{'artifacts':>10}{'calls':>7}{'input tok':>11}{'output tok':>12}{cost_head:>12}"
            f"{'repairs':>9}"  # notes of the parser's repairs of the agent's answers (listed below)
        )
        rule = "-" * len(head)
        lines = [head, rule]
        repairs = self.project_state.repairs
        for agent, t in [*self.agent_totals.items(), ("", None), ("total", self.totals)]:
            if t is None:
                lines.append(rule)
                continue
            if agent == "total":
                n, r = len(self.artifacts), sum(map(len, repairs.values()))
            else:
                n, r = len(self.project_state.artifacts.get(agent, [])), len(repairs.get(agent, ()))
            lines.append(
                f"{agent:<14}{n:>10}{t.calls:>7}{t.input_side_tokens:>11,}"
                f"{t.output_tokens:>12,}{format_usd(t.cost_usd):>12}{r:>9}"
            )
        total = format_usd(self.totals.cost_usd)
        billed = "" if self.mode == "real" else f"; $0 billed (would have cost {total})"
        lines.append(f"mode: {self.mode}; cost basis: {self.totals.cost_basis}{billed}")
        cut = self.truncated_artifacts
        if cut:
            lines.append(
                f"TRUNCATED: {len(cut)} artifact{'s' if len(cut) != 1 else ''} cut off at max_tokens, "
                f"content incomplete: {', '.join(cut)} (raise that agent's max_tokens and run again)"
            )
        if repairs:
            n = sum(map(len, repairs.values()))
            lines.append(f"REPAIRED: {n} repair{'s' if n != 1 else ''} by the parser to read the answers of:")
            lines += [f"  {agent}: {'; '.join(notes)}" for agent, notes in repairs.items()]
        return "\n".join(lines)

    @classmethod
    def load(cls, run_dir: Path | str) -> RunResult:
        from .checkpoint import load_project_state

        folder = RunFolder.open(run_dir)
        manifest = folder.manifest()
        state = folder.load_state() or {}
        summary = folder.summary()
        return cls(
            run_dir=folder.path,
            status=state.get("status", "unknown"),
            mode=manifest.get("mode", "?"),
            model=manifest.get("model", "?"),
            project_state=load_project_state(folder, state, manifest),
            summary=summary,
            calls=folder.calls(),
        )
