"""Key-shaped text never reaches the server's logs: a logging filter that redacts each record's message
and traceback before any handler formats it. Access lines show query strings with their values hidden: the
API takes no query parameters, and a client used to Jupyter may put its token there (``?token=...``)."""

from __future__ import annotations

import logging

from ..store.run_folder import redact

LOGGERS = ("orchestrator_kit", "orchestrator_kit.server", "uvicorn", "uvicorn.error", "uvicorn.access")


def _clean(arg: object) -> object:
    return redact(str(arg)) if isinstance(arg, (str, BaseException)) else arg


def hide_query(target: str) -> str:
    """A request target with each query value hidden (``/p?token=[hidden]``); a bare part is hidden whole."""
    path, sep, query = target.partition("?")
    if not sep:
        return target
    parts = (p.partition("=") for p in query.split("&"))
    return path + "?" + "&".join(f"{name}=[hidden]" if eq else "[hidden]" for name, eq, _ in parts)


class RedactFilter(logging.Filter):
    """Redacts the formatted message and the exception text of every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):  # kept a tuple: uvicorn's access formatter unpacks it
            args = [_clean(a) for a in record.args]
            if record.name == "uvicorn.access" and len(args) == 5 and isinstance(args[2], str):
                args[2] = hide_query(args[2])  # (client, method, path?query, http version, status)
            record.args = tuple(args)
        elif isinstance(record.args, dict):
            record.args = {k: _clean(v) for k, v in record.args.items()}
        return True


def install_log_redaction() -> None:
    """Add the filter to the server's and uvicorn's loggers (once)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactFilter) for f in logger.filters):
            logger.addFilter(RedactFilter())


__all__ = ["RedactFilter", "hide_query", "install_log_redaction"]
