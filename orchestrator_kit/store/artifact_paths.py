"""Where an artifact lands: the one authority, used by the parser, the run folder, resume and the
simulated backend alike, so that a name made safe here is always accepted there.

``artifact_relpath(name)`` turns any name a model writes into a relative POSIX path inside the
agent's artifacts folder:

- subfolders are kept (``src/app/main.py``), as are leading underscores and dunder names
  (``pkg/__init__.py``, ``_helpers.py``);
- backslashes count as separators; drive letters (``C:``), UNC and device prefixes (``\\\\server``,
  ``\\\\?\\``) and leading ``/`` are dropped; ``.``, ``..`` and empty segments are dropped (never
  resolved), so nothing can climb out;
- control characters are removed; spaces and dots around each segment are stripped (``" app.py "``,
  ``notes.md.``; leading dots: hidden files); other characters outside ``A-Z a-z 0-9 . _ -`` become ``_``;
- Windows device names (CON, PRN, AUX, NUL, COM0-9, LPT0-9), in any case, with or without an
  extension, get ``_`` after their stem: ``con.py`` -> ``con_.py``, ``CON`` -> ``CON_``;
- each segment is at most ``MAX_SEGMENT`` chars (a short extension is kept), at most ``MAX_DEPTH``
  segments (the top folders and the file name are kept).

The cleaned path is a fixed point: ``artifact_relpath(p) == p`` is exactly the run folder's check.
``ArtifactNamer`` gives the artifacts of one answer distinct paths (case-insensitively, and a file
never where another needs a folder), deterministically: ``a.py``, ``a-2.py``, ``a-3.py``.
"""

from __future__ import annotations

import posixpath
import re

from ..errors import ConfigError

__all__ = [
    "MAX_DEPTH",
    "MAX_SEGMENT",
    "RESERVED_NAMES",
    "ArtifactNamer",
    "artifact_relpath",
    "check_relpath",
    "is_reserved_name",
]

MAX_SEGMENT, MAX_DEPTH = 120, 5
_MAX_EXT = 16
RESERVED_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(10)), *(f"LPT{n}" for n in range(10))}
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_EDGES = re.compile(r"^[\s.]+|[\s.]+$")  # " app.py ", "notes.md.", ".env": what Windows drops, hidden files
_PREFIX = re.compile(r"^(?://[?.]/)?(?:[A-Za-z]:)?")  # \\?\ or \\.\ device prefix, then a drive
# A path artifact_relpath leaves as it is: 1 to MAX_DEPTH segments of 1 to MAX_SEGMENT safe characters,
# none starting or ending with a dot, none a device name (its stem, up to the first dot, in any case:
# is_reserved_name of a segment without spaces). ASCII case-insensitive: no "ſ" matching "s".
_DEVICE = r"(?!(?:CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(?:[./]|$))"
_SEGMENT = rf"{_DEVICE}[A-Za-z0-9_-](?:[A-Za-z0-9._-]{{0,{MAX_SEGMENT - 2}}}[A-Za-z0-9_-])?"
_FIXED_POINT = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT}){{0,{MAX_DEPTH - 1}}}", re.ASCII | re.IGNORECASE)


def is_reserved_name(name: str) -> bool:
    """Whether Windows treats ``name`` (any case, with or without an extension) as a device."""
    return name.split(".", 1)[0].rstrip(" ").upper() in RESERVED_NAMES


def _shorten(part: str, limit: int) -> str:
    """Cut ``part`` to ``limit`` chars, keeping a short extension."""
    if len(part) <= limit:
        return part
    stem, ext = posixpath.splitext(part)
    ext = ext if 0 < len(ext) <= _MAX_EXT and len(ext) < limit else ""
    return (stem[: limit - len(ext)] + ext).rstrip(".")


def _segment(part: str) -> str:
    """One path segment made safe ('' when nothing safe is left)."""
    part = _UNSAFE.sub("_", _EDGES.sub("", _CONTROL.sub("", part)))
    if not part:
        return ""
    if is_reserved_name(part):
        stem, dot, ext = part.partition(".")
        part = f"{stem}_{dot}{ext}"
    return _shorten(part, MAX_SEGMENT)


def artifact_relpath(name: str) -> str:
    """The relative POSIX path, inside the agent's artifacts folder, where an artifact named
    ``name`` lands. Raises ConfigError when no safe character is left (e.g. ``".."``)."""
    if _FIXED_POINT.fullmatch(name):
        return name  # already safe (checked at every write: the common case, without the rewrites below)
    return _made_safe(name)


def _made_safe(name: str) -> str:
    text = _PREFIX.sub("", _CONTROL.sub("", name).replace("\\", "/"), count=1)
    parts = [s for s in map(_segment, text.split("/")) if s]
    if not parts:
        raise ConfigError(
            f"artifact filename {name!r} has no safe characters; use a relative path such as 'docs/report.md'"
        )
    if len(parts) > MAX_DEPTH:  # keep the top folders and the file name
        parts = parts[: MAX_DEPTH - 1] + parts[-1:]
    return "/".join(parts)


def check_relpath(path: str, what: str = "artifact path") -> str:
    """``path`` itself if it is already where an artifact lands (a fixed point), else ConfigError."""
    try:
        clean = artifact_relpath(path)
    except ConfigError:
        clean = None
    if clean != path:
        hint = f" (made safe it would be {clean!r})" if clean else ""
        raise ConfigError(
            f"unsafe {what} {path!r}{hint}; names must be relative, use letters, digits, '.', '_' or '-', "
            f"and avoid device names such as CON"
        )
    return path


def _suffixed(part: str, n: int) -> str:
    stem, ext = posixpath.splitext(part)
    if len(ext) > _MAX_EXT or not stem:
        stem, ext = part, ""
    tail = f"-{n}{ext}"
    return stem[: MAX_SEGMENT - len(tail)] + tail


class ArtifactNamer:
    """Distinct landing paths for the artifacts of one answer (one agent's folder).

    ``place(name)`` returns ``artifact_relpath(name)``, renamed with ``-2``, ``-3``... when that path
    (compared case-insensitively, as on macOS and Windows) is already taken by an earlier file, or
    is a folder another file needs, or the reverse. The same inputs in the same order always give
    the same paths.
    """

    def __init__(self) -> None:
        self._files: set[str] = set()
        self._dirs: set[str] = set()

    def place(self, name: str) -> str:
        parts = artifact_relpath(name).split("/")
        out: list[str] = []
        for i, part in enumerate(parts):
            leaf = i == len(parts) - 1
            candidate, n = part, 1
            while True:
                key = "/".join([*out, candidate]).casefold()
                if key not in self._files and not (leaf and key in self._dirs):
                    break
                n += 1
                candidate = _suffixed(part, n)
            out.append(candidate)
        for i in range(1, len(out)):
            self._dirs.add("/".join(out[:i]).casefold())
        path = "/".join(out)
        self._files.add(path.casefold())
        return path
