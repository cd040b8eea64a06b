"""Route: a run's engine events as server-sent events (``Last-Event-ID`` resumes)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse

from ...store.run_folder import redact
from ..deps import DB, Runs, Settings, User, run_of

router = APIRouter()


@router.get(
    "/projects/{project_id}/runs/{run_id}/events",
    tags=["runs"],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def run_events(
    *,
    project_id: str,
    run_id: str,
    user: User,
    db: DB,
    runs: Runs,
    settings: Settings,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    row = run_of(db, user, project_id, run_id)
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0

    async def body() -> AsyncIterator[str]:
        async for event in runs.events(row, after, heartbeat_s=settings.sse_heartbeat_s):
            if event is None:
                yield ": keep-alive\n\n"
                continue
            data = redact(json.dumps(event, default=str, ensure_ascii=False))
            yield f"id: {event['seq']}\nevent: {event['type']}\ndata: {data}\n\n"

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


__all__ = ["router"]
