"""The cost report as one self-contained HTML file.

``build_report(runs_dir, "report.html")`` executes the cost-report notebook with papermill in a
temporary folder (the kernel inherits this process's environment; nothing secret is a parameter), then
exports it with nbconvert without code cells: tables and PNG figures embedded, no external scripts.
"""

from __future__ import annotations

import copy
import logging
import re
import tempfile
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..notebook_params import notebook_path
from ..store.atomic import write_text_atomic
from .loader import run_folders

# The lab template loads MathJax and require.js from a CDN; the report needs neither.
_EXTERNAL_SCRIPT = re.compile(r"<script[^>]+src=[\"']https?://[^>]*>\s*</script>", re.I)
REMOVE_TAG = "remove-from-report"  # cells about running the notebook, not about the runs
_log = logging.getLogger("orchestrator_kit.report.html")
# nbconvert gives every image a generic alt text and warns that it did; our figures carry their titles.
_log.addFilter(lambda record: not record.getMessage().startswith("Alternative text is missing"))


def export_html(nb: Any, title: str) -> str:
    """HTML of an executed notebook: no code, no prompts, no stderr, no cells tagged ``remove-from-report``,
    images inline, no external scripts."""
    from nbconvert import HTMLExporter

    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if REMOVE_TAG not in c.metadata.get("tags", [])]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                o
                for o in cell.outputs
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]
    exporter = HTMLExporter(
        template_name="lab",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
        log=_log,
    )
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return _EXTERNAL_SCRIPT.sub("", body)


def _heading(nb: Any) -> str | None:
    """The report's first level-1 heading as the notebook printed it (made from the runs)."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text: str = out.get("data", {}).get("text/markdown", "")
            if text.startswith("# "):
                return text[2:].splitlines()[0].strip()
    return None


def execute_report(
    runs_dir: str | Path,
    workdir: str | Path,
    *,
    title: str = "",
    kernel_name: str | None = None,
    timeout: int | None = 600,
) -> Path:
    """Execute the cost-report notebook over ``runs_dir`` into ``workdir``; returns the executed notebook."""
    from ..kernels import execute_notebook

    out = Path(workdir) / "cost_report.ipynb"
    execute_notebook(
        notebook_path("cost_report.ipynb"),
        out,
        parameters={"runs_dir": str(runs_dir), "title": title},
        cwd=workdir,
        kernel_name=kernel_name,
        execution_timeout=timeout,
    )
    return out


def build_report(
    runs_dir: str | Path,
    output_html: str | Path,
    *,
    title: str | None = None,
    kernel_name: str | None = None,
    timeout: int | None = 600,
) -> Path:
    """Write the cost report over ``runs_dir`` (a runs folder or one run folder) to ``output_html``."""
    import nbformat

    source = Path(runs_dir).expanduser().resolve()
    run_folders(source)  # a clear error now rather than a traceback from inside the kernel
    target = Path(output_html).expanduser().resolve()
    if target.is_dir():
        raise ConfigError(f"{str(target)!r} is a folder; pass the HTML file to write, e.g. report.html")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="orchestrator-report-") as tmp:
        nb = nbformat.read(
            execute_report(source, tmp, title=title or "", kernel_name=kernel_name, timeout=timeout),
            as_version=4,
        )
    title = title or _heading(nb) or f"Cost report: {source.name}"
    write_text_atomic(target, export_html(nb, title))  # a report to share: the umask applies
    return target


__all__ = ["build_report", "execute_report", "export_html"]
