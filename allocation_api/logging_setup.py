"""Logging for `serve` and `dev`, configured in one place (`configure`).

* **JSON lines** (`serve`, and `dev` when stderr is not a terminal): one
  object per record with `ts`, `level`, `logger`, `message`, the request's
  `request_id` and `trace_id` when logged while a request runs, the fields a
  record carries in `extra` (the access line's method, path, status ...), and
  `exc_type`/`exc` for an exception. Encoded with orjson, already a
  dependency: the formatter is twenty lines, no library needed for it.
* **Human-readable** (`dev` in a terminal): one line per record,
  `HH:MM:SS LEVEL logger message key=value ...`, coloured by level.

`ALLOCATION_API_LOG_FORMAT` (`auto`, `json`, `text`) overrides the choice.
uvicorn's own access log is off (`web/server.py` is given `access_log=False`
by the commands): the access line is ours (`web/access.py`), one per request,
with what uvicorn cannot know (operation, user, call counts, trace id).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, Literal, TextIO

import orjson

from allocation_api import tracing

LogFormat = Literal["auto", "json", "text"]

# Attributes every LogRecord has: anything else on a record came from `extra=`.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "taskName", "request_id", "trace_id", "color_message"}
)
CHATTY_LOGGERS = ("pgserver", "alembic.runtime.plugins", "alembic.runtime.migration")


class RequestContextFilter(logging.Filter):
    """Puts the current request's `request_id` and `trace_id` on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = tracing.scope()
        if current is not None:
            record.request_id = current.request_id
            record.trace_id = current.trace_id
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


class JsonFormatter(logging.Formatter):
    """One JSON object per line; values orjson cannot encode become strings."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            line["request_id"] = request_id
            line["trace_id"] = getattr(record, "trace_id", None)
        line.update(_extras(record))
        if record.exc_info and record.exc_info[0] is not None:
            line["exc_type"] = record.exc_info[0].__name__
            line["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


_COLOURS = {"DEBUG": "\x1b[2m", "INFO": "\x1b[32m", "WARNING": "\x1b[33m", "ERROR": "\x1b[31m"}
_RESET = "\x1b[0m"


class TextFormatter(logging.Formatter):
    """`12:00:01 INFO  logger  message key=value ...` on one line (tracebacks follow)."""

    def __init__(self, *, colour: bool) -> None:
        super().__init__()
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        level = record.levelname
        if self.colour:
            level = f"{_COLOURS.get(level, _COLOURS['ERROR'])}{level:<7}{_RESET}"
        else:
            level = f"{level:<7}"
        fields = _extras(record)
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            fields["request_id"] = request_id
            fields["trace_id"] = getattr(record, "trace_id", None)
        pairs = " ".join(f"{k}={_text(v)}" for k, v in fields.items() if v is not None)
        clock = time.strftime("%H:%M:%S", time.localtime(record.created))
        line = f"{clock} {level} {record.name}  {record.getMessage()}"
        if pairs:
            line = f"{line}  {pairs}"
        if record.exc_info and record.exc_info[0] is not None:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


def _text(value: Any) -> str:
    text = str(value)
    return f'"{text}"' if " " in text or not text else text


def _iso(created: float) -> str:
    seconds = int(created)
    millis = int((created - seconds) * 1000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{millis:03d}Z"


def wants_json(log_format: LogFormat, *, dev: bool, stream: TextIO) -> bool:
    if log_format != "auto":
        return log_format == "json"
    if not dev:
        return True
    isatty = getattr(stream, "isatty", None)
    return not (isatty is not None and isatty())


def configure(
    *,
    level: int = logging.INFO,
    log_format: LogFormat = "auto",
    dev: bool = False,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Replace the root logger's handlers with one that writes `stream` (stderr)."""
    out = stream if stream is not None else sys.stderr
    handler = logging.StreamHandler(out)
    if wants_json(log_format, dev=dev, stream=out):
        handler.setFormatter(JsonFormatter())
    else:
        isatty = getattr(out, "isatty", None)
        handler.setFormatter(TextFormatter(colour=bool(isatty is not None and isatty())))
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in CHATTY_LOGGERS:  # every command line they run, at INFO: noise for users
        logging.getLogger(name).setLevel(logging.WARNING)
    # uvicorn's loggers carry their own handlers: route them through ours.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uv = logging.getLogger(name)
        uv.handlers.clear()
        uv.propagate = True
    return handler
