"""A body whose text holds a lone surrogate (an unpaired JSON ``\\ud800`` escape) gets a 422 naming the
field (pydantic's JSON parser refuses it), not a 500 from the index or a run that fails later."""

from __future__ import annotations

from collections.abc import Callable

from server_helpers import Live, new_project


def test_a_lone_surrogate_in_a_body_is_a_422_naming_it(start_server: Callable[..., Live]) -> None:
    live = start_server()
    c = live.client()
    headers = {"Content-Type": "application/json"}
    r = c.post(
        "/projects", content=b'{"project_name": "CSV tool", "request": "a \\ud800 tool"}', headers=headers
    )
    assert r.status_code == 422, r.text
    assert "request: Input should be a valid string, unable to parse raw data as a unicode string" in r.text
    pid = new_project(c)  # the server is fine afterwards
    r = c.post(f"/projects/{pid}/runs", content=b'{"model": "claude-\\udc00"}', headers=headers)
    assert r.status_code == 422 and "model: Input should be a valid string" in r.text, r.text
    assert c.get(f"/projects/{pid}").status_code == 200
