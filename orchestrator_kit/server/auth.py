"""Who is calling: bearer tokens, as Jupyter does it.

Three ways to start the server:

- default: one user, ``default``, with a token generated at start (``secrets.token_urlsafe(32)``) and
  printed once, or taken from ``ORCHESTRATOR_KIT_TOKEN``;
- ``--users-file users.yaml`` (YAML or JSON): several users, each with a token or its SHA-256::

      users:
        alice: {token: "a-long-random-token"}      # at least 16 characters
        bob: {token_sha256: "9f86d08...c15d"}       # hex sha256 of bob's token
        carol: "another-long-random-token"          # shorthand for {token: ...}

- ``--no-auth``: a single implicit user (``default``), loopback only.

The authenticator keeps only SHA-256 digests of tokens (the app keeps the single user's token for the start
banner); a token never reaches a log or a response.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError

DEFAULT_USER = "default"
TOKEN_ENV = "ORCHESTRATOR_KIT_TOKEN"
MIN_TOKEN_CHARS = 16
USER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def check_user_id(user_id: Any, where: str) -> str:
    if not isinstance(user_id, str) or not USER_ID.match(user_id):
        raise ConfigError(
            f"user id {str(user_id)[:70]!r} in {where} is not allowed; use 1-64 letters, digits, "
            "'_' or '-', starting with a letter or digit"
        )
    return user_id


class Authenticator:
    """Maps a request's ``Authorization`` header to a user id (or None).

    ``enabled=False`` is ``--no-auth``: every request is the implicit user.
    """

    def __init__(
        self,
        digests: Mapping[str, str] | None = None,
        *,
        enabled: bool = True,
        implicit_user: str = DEFAULT_USER,
    ) -> None:
        self.enabled = enabled
        self.implicit_user = implicit_user
        self._digests = dict(digests or {})  # sha256(token) -> user id
        if enabled and not self._digests:
            raise ConfigError("authentication is on but no user has a token")

    def __repr__(self) -> str:
        return f"Authenticator(enabled={self.enabled}, users={self.users})"

    @property
    def users(self) -> list[str]:
        return sorted(set(self._digests.values())) if self.enabled else [self.implicit_user]

    @classmethod
    def without_auth(cls) -> Authenticator:
        return cls(enabled=False)

    @classmethod
    def single_token(cls, token: str, user_id: str = DEFAULT_USER) -> Authenticator:
        if len(token) < MIN_TOKEN_CHARS:
            raise ConfigError(f"the server token must have at least {MIN_TOKEN_CHARS} characters")
        return cls({token_digest(token): check_user_id(user_id, "the token setting")})

    @classmethod
    def from_users_file(cls, path: str | Path) -> Authenticator:
        import yaml

        p = Path(path).expanduser()
        try:
            mode = stat.S_IMODE(p.stat().st_mode)
            if mode & 0o077:
                raise ConfigError(
                    f"the users file {str(p)!r} is readable by others (mode {mode:o}); it holds tokens: "
                    f"run: chmod 600 {p}"
                )
            doc = yaml.safe_load(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(
                f"cannot read the users file {str(p)!r} ({exc.strerror}); pass an existing file"
            ) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"the users file {str(p)!r} is not valid YAML or JSON{where}") from None
        return cls(parse_users(doc, str(p)))

    def user_for(self, authorization: str | None) -> str | None:
        """The user id for an ``Authorization`` header value, or None when missing or wrong."""
        if not self.enabled:
            return self.implicit_user
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        digest = token_digest(token)
        for known, user in self._digests.items():  # constant time per comparison; few users
            if hmac.compare_digest(known, digest):
                return user
        return None


def parse_users(doc: Any, where: str) -> dict[str, str]:
    """``{sha256(token): user_id}`` from a users document (see the module docstring)."""
    if isinstance(doc, Mapping) and "users" in doc:
        doc = doc["users"]
    if not isinstance(doc, Mapping) or not doc:
        raise ConfigError(f"{where} must map user ids to tokens, e.g. users: {{alice: {{token: ...}}}}")
    digests: dict[str, str] = {}
    for user_id, given in doc.items():
        check_user_id(user_id, where)
        entry = {"token": given} if isinstance(given, str) else given
        if not isinstance(entry, Mapping) or len({"token", "token_sha256"} & set(entry)) != 1:
            raise ConfigError(f"user {user_id!r} in {where} needs exactly one of 'token' or 'token_sha256'")
        if "token" in entry:
            token = entry["token"]
            if not isinstance(token, str) or len(token.strip()) < MIN_TOKEN_CHARS:
                raise ConfigError(
                    f"the token of user {user_id!r} in {where} must be a string of at least "
                    f"{MIN_TOKEN_CHARS} characters (e.g. from: python -c 'import secrets; "
                    "print(secrets.token_urlsafe(32))')"
                )
            digest = token_digest(token.strip())
        else:
            digest = str(entry["token_sha256"])
            if not _HEX64.match(digest):
                raise ConfigError(f"token_sha256 of user {user_id!r} in {where} must be 64 hex digits")
            digest = digest.lower()
        if digest in digests:
            raise ConfigError(f"users {digests[digest]!r} and {user_id!r} in {where} have the same token")
        digests[digest] = user_id
    return digests


__all__ = [
    "DEFAULT_USER",
    "TOKEN_ENV",
    "Authenticator",
    "check_user_id",
    "new_token",
    "parse_users",
    "token_digest",
]
