"""Route: a run's engine events as server-sent events (``Last-Event-ID`` resumes; the query parameter
``lastEventId`` too, as the event-source-polyfill package sends it on reconnecting)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query
from fastapi.responses import StreamingResponse

from ...store.run_folder import redact
from ..deps import DB, Runs, Settings, User, run_of

router = APIRouter()
_EVENT_ID = re.compile(r"[0-9]{1,18}")


def event_id(value: str | None) -> int:
    """The number in a ``Last-Event-ID`` header (0 when absent); 400 unless 1-18 ASCII digits."""
    if value is None or not value.strip():
        return 0
    if not _EVENT_ID.fullmatch(value.strip()):
        raise HTTPException(
            400,
            "Last-Event-ID must be the id of an event this stream sent (1 to 18 digits 0-9); "
            "omit it to start from the beginning",
        )
    return int(value)


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
    last_event_id_query: Annotated[
        str | None,
        Query(
            alias="lastEventId",
            description="the Last-Event-ID header, from EventSource polyfills that send it in the URL",
        ),
    ] = None,
) -> StreamingResponse:
    after = event_id(last_event_id if last_event_id is not None else last_event_id_query)
    row = run_of(db, user, project_id, run_id)

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
