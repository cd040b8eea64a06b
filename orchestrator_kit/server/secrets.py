"""Users' API keys at rest: encrypted with Fernet (``cryptography``), never stored or logged in clear.

The server secret comes from (first wins) the environment variable ``ORCHESTRATOR_KIT_SECRET_KEY``
(a Fernet key: 32 url-safe base64-encoded bytes, e.g. from ``Fernet.generate_key()``), or the file
``<data_dir>/secret.key``, generated on first start with mode 0600. A key file readable by group or
others is refused, as ssh refuses a private key.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from ..errors import ConfigError, UnreadableSecret  # UnreadableSecret: re-exported

ENV_VAR = "ORCHESTRATOR_KIT_SECRET_KEY"
KEY_FILE = "secret.key"


class KeyVault:
    """Encrypts and decrypts short secrets. Its repr names the secret's source, never the secret."""

    def __init__(self, key: bytes, source: str) -> None:
        from cryptography.fernet import Fernet

        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError):
            raise ConfigError(
                f"the server secret from {source} is not a valid Fernet key (32 url-safe "
                "base64-encoded bytes); generate one with: python -c 'from cryptography.fernet "
                "import Fernet; print(Fernet.generate_key().decode())'"
            ) from None
        self.source = source

    def __repr__(self) -> str:
        return f"KeyVault(source={self.source!r})"

    @classmethod
    def load(cls, data_dir: str | Path, *, env: Mapping[str, str] | None = None) -> KeyVault:
        environ = os.environ if env is None else env
        value = (environ.get(ENV_VAR) or "").strip()
        if value:
            return cls(value.encode("ascii", "replace"), f"the environment variable {ENV_VAR}")
        path = Path(data_dir) / KEY_FILE
        return cls(_read_or_create_key_file(path), f"the key file {path}")

    def encrypt(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode("utf-8"))

    def decrypt(self, blob: bytes) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(bytes(blob)).decode("utf-8")
        except InvalidToken:
            raise UnreadableSecret(
                "the stored API key cannot be decrypted with the server's current secret "
                f"(from {self.source}); set the key again with "
                "POST /users/me/provider-settings"
            ) from None


def _read_or_create_key_file(path: Path) -> bytes:
    from cryptography.fernet import Fernet

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(
                f"the server key file {path} is readable by others (mode {mode:o}); run: chmod 600 {path}"
            ) from None
        key = path.read_bytes().strip()
        if not key:
            raise ConfigError(
                f"the server key file {path} is empty; delete it to generate a new one "
                "(stored API keys will then have to be set again)"
            ) from None
        return key
    key = Fernet.generate_key()
    with os.fdopen(fd, "wb") as f:
        f.write(key + b"\n")
    return key


__all__ = ["ENV_VAR", "KEY_FILE", "KeyVault", "UnreadableSecret"]
