"""What a sweep returns: its folder and one record per cell."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

from ..engine.gates import WAITING
from .folder import FINISHED, SUMMARY, CellRecord, SweepFolder

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class SweepResult:
    sweep_dir: Path
    mode: str
    cells: list[CellRecord] = field(default_factory=list)
    duration_s: float = 0.0

    @classmethod
    def of(cls, folder: SweepFolder, duration_s: float) -> SweepResult:
        cells = sorted(folder.cells.values(), key=lambda c: c.cell_id)
        return cls(folder.path, folder.mode, cells, round(duration_s, 3))

    @property
    def runs_dir(self) -> Path:
        return self.sweep_dir / "runs"

    @property
    def summary_csv(self) -> Path:
        return self.sweep_dir / SUMMARY

    @property
    def ok(self) -> list[CellRecord]:
        return [c for c in self.cells if c.status == FINISHED]

    @property
    def failed(self) -> list[CellRecord]:
        return [c for c in self.cells if c.status != FINISHED and c.status not in WAITING]

    @property
    def waiting(self) -> list[CellRecord]:
        """Cells stopped at a human gate or for more budget: decide on their run folders, then resume."""
        return [c for c in self.cells if c.status in WAITING]

    def run_dir(self, cell_id: str) -> Path:
        return self.runs_dir / next(c.run_id for c in self.cells if c.cell_id == cell_id)

    def table(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([asdict(c) for c in self.cells], columns=[f.name for f in fields(CellRecord)])

    def __str__(self) -> str:
        rendered = sum(c.render == "rendered" for c in self.cells)
        lines = [
            f"{len(self.cells)} cells ({self.mode}) in {self.duration_s:.1f} s: {len(self.ok)} completed, "
            f"{len(self.failed)} not; {rendered} notebooks rendered"
        ]
        if self.waiting:
            lines[0] += f"; {len(self.waiting)} waiting for a decision"
        for c in self.waiting:
            lines.append(
                f"  {c.status} {c.cell_id}: orchestrator-kit decide {self.runs_dir / c.run_id} "
                "approve | revise --reason ... | edit FILE | budget USD"
            )
        for c in self.failed:
            first = c.error_message.splitlines()[0] if c.error_message else ""
            lines.append(f"  {c.status} {c.cell_id} ({c.model}): {c.error_type}: {first}")
        for c in self.cells:
            if c.render == "failed":
                lines.append(f"  render failed {c.cell_id}: {c.render_error.splitlines()[0]}")
        lines.append(f"sweep folder: {self.sweep_dir}")
        lines.append(f"run folders: {self.runs_dir}")
        lines.append(f"summary: {self.summary_csv}")
        if self.failed or self.waiting:
            lines.append(f"continue with: orchestrator-kit resume {self.sweep_dir}")
        return "\n".join(lines)


__all__ = ["SweepResult"]
