"""What a client sees that names the CLI or ignores its words: query parameters (refused by name, the API
has no paging), a budget hint an API client can follow, path ids echoed in full. Real HTTP against a real
uvicorn on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable

from server_helpers import Live, new_project, wait_run


# -- ids echoed in error bodies --------------------------------------------------------------------
def test_a_huge_path_id_is_not_echoed_in_full(start_server: Callable[..., Live]) -> None:
    c = start_server().client()
    pid = new_project(c)
    huge = "q" * 30_000
    for path in (
        f"/projects/{huge}",
        f"/projects/{huge}/runs",
        f"/projects/{pid}/runs/{huge}",
        f"/projects/{pid}/runs/{huge}/events",
        f"/projects/{pid}/runs/{huge}/artifacts/architect/{huge}.md",
        f"/nope/{huge}",
    ):
        r = c.get(path)
        assert r.status_code == 404 and len(r.text) < 600, (path[:80], r.status_code, len(r.text))
        assert "q" * 40 in r.text and ",0" in r.text and " characters)" in r.text, r.text
    rid = c.post(f"/projects/{pid}/runs", json={"agents": ["architect"]}).json()["id"]
    wait_run(c, pid, rid)
    r = c.get(f"/projects/{pid}/runs/{rid}/artifacts/architect/{huge}.md")
    assert r.status_code == 404 and len(r.text) < 600, len(r.text)
    assert c.get("/projects/nope").json()["detail"] == "project 'nope' not found"  # short ids stay
    r = c.post("/projects", json={"project_name": "x", huge: 1})  # a field name: said, not in full
    assert r.status_code == 422 and len(r.text) < 800 and "30,000 characters): unknown field" in r.text
