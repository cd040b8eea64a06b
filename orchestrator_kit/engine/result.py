"""RunResult: what a finished (or failed) run left, read back from its folder."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..money import format_usd
from ..records import Artifact, ProjectState
from ..store.run_folder import RunFolder


@dataclass
class RunResult:
    run_dir: Path
    status: str
    mode: str
    model: str
    project_state: ProjectState
    summary: dict[str, Any]
    calls: list[dict[str, Any]] = field(default_factory=list, repr=False)

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
    def totals(self) -> dict[str, Any]:
        return self.summary.get("totals", {})

    @property
    def review_score(self) -> float | None:
        return self.summary.get("review_score")

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

    def per_agent_rows(self) -> list[dict[str, Any]]:
        rows = []
        for agent, t in self.summary.get("agents", {}).items():
            arts = self.project_state.artifacts.get(agent, [])
            rows.append(
                {
                    "agent": agent,
                    "artifacts": len(arts),
                    "calls": t["calls"],
                    "input_tokens": t["input_tokens"]
                    + t["cache_write_5m_tokens"]
                    + t["cache_write_1h_tokens"]
                    + t["cache_read_tokens"],
                    "output_tokens": t["output_tokens"],
                    "cost_usd": t["cost_usd"],
                    "wasted_usd": t["wasted_usd"],
                }
            )
        return rows

    def table(self) -> str:
        """A plain-text per-agent table (CLI and logs). Outside real mode nothing was billed: the cost
        column is what the calls would have cost, and the last line says so ("$0 billed (would have
        cost $X)")."""
        basis = self.totals.get("cost_basis", "")
        cost_head = "cost" if self.mode == "real" else "would-cost"
        head = f"{'agent':<14}{'artifacts':>10}{'calls':>7}{'input tok':>11}{'output tok':>12}{cost_head:>12}"
        lines = [head, "-" * len(head)]
        for r in self.per_agent_rows():
            cost = format_usd(None if r["cost_usd"] is None else Decimal(r["cost_usd"]))
            lines.append(
                f"{r['agent']:<14}{r['artifacts']:>10}{r['calls']:>7}{r['input_tokens']:>11,}"
                f"{r['output_tokens']:>12,}{cost:>12}"
            )
        t = self.totals
        if t:
            total = format_usd(None if t["cost_usd"] is None else Decimal(t["cost_usd"]))
            lines.append("-" * len(head))
            lines.append(
                f"{'total':<14}{len(self.artifacts):>10}{t['calls']:>7}"
                f"{t['total_tokens'] - t['output_tokens']:>11,}{t['output_tokens']:>12,}{total:>12}"
            )
            billed = "" if self.mode == "real" else f"; $0 billed (would have cost {total})"
            lines.append(f"mode: {self.mode}; cost basis: {basis}{billed}")
        cut = self.truncated_artifacts
        if cut:
            lines.append(
                f"TRUNCATED: {len(cut)} artifact{'s' if len(cut) != 1 else ''} cut off at max_tokens, "
                f"content incomplete: {', '.join(cut)} (raise that agent's max_tokens and run again)"
            )
        return "\n".join(lines)

    @classmethod
    def load(cls, run_dir: Path | str) -> RunResult:
        from .checkpoint import load_project_state

        folder = RunFolder.open(run_dir)
        manifest = folder.manifest()
        state = folder.load_state() or {}
        summary = folder.summary() or {}
        return cls(
            run_dir=folder.path,
            status=state.get("status", "unknown"),
            mode=manifest.get("mode", "?"),
            model=manifest.get("model", "?"),
            project_state=load_project_state(folder, state, manifest),
            summary=summary,
            calls=folder.calls(),
        )
