"""Values a user hands in that orjson does not write itself parse as json wrote them (review of #12):
numpy's float64 (a float subclass, e.g. a timeout taken from a pandas table) stays a number."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from orchestrator_kit import api
from orchestrator_kit.store import json_bytes


class _Float(float):
    pass


def _as_json_wrote(data: Any) -> Any:
    return json.loads(json.dumps(data, ensure_ascii=False, default=str))


@pytest.mark.parametrize("value", [np.float64(30.0), np.float64(1e-05), _Float(2.5), np.float64(-0.0)])
def test_a_float_subclass_is_written_as_a_number(value: float) -> None:
    data = {"timeout_s": value, "nested": [value, {"x": value}]}
    expected = _as_json_wrote(data)
    assert isinstance(expected["timeout_s"], float)
    for encode in (json_bytes.line, json_bytes.compact_document, json_bytes.document):
        assert json.loads(encode(data)) == expected


def test_a_numpy_timeout_is_a_number_in_the_manifest(tmp_path: Path) -> None:
    result = api.run_workflow("Convert CSV to JSON", output_dir=tmp_path, timeout=np.float64(30.0))
    (path,) = tmp_path.glob("*/manifest.json")
    manifest = json.loads(path.read_text())
    assert result.status == "completed" and manifest["timeout_s"] == 30.0
    assert isinstance(manifest["timeout_s"], float)
