"""Encryption at rest of elders' sensitive personal data (敏感个人信息: phone and ID numbers).

Values are Fernet tokens (AES-128-CBC with HMAC-SHA256, :mod:`cryptography`) under the data key
of the settings (``DISPATCH_DATA_KEY``). Without one, :func:`load_key` generates a key once and
keeps it in a file beside the SQLite database (``<database>.key``, owner-only), or in
``var/data.key`` for other databases, so the embedded default works on a fresh machine.

A database's cipher rides on its engine's dialect (:func:`attach`), where the column type
:class:`api.models.EncryptedString` finds it; :func:`cipher_for` gives a migration the cipher
of its connection, or loads the key the same way for a connection made by hand.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.engine import make_url

__all__ = [
    "DataCipher",
    "DataKeyError",
    "attach",
    "cipher_for",
    "cipher_of",
    "key_file",
    "load_key",
]

_ATTRIBUTE = "dispatch_data_cipher"
_lock = threading.Lock()


class DataKeyError(RuntimeError):
    """The data key is invalid, or a stored value was encrypted under another key."""


class DataCipher:
    """Encrypts with ``key`` and decrypts with it or any of ``old_keys`` (key rotation)."""

    def __init__(self, key: str | bytes, *old_keys: str | bytes) -> None:
        try:
            self._fernets = [Fernet(k) for k in (key, *old_keys)]
        except (ValueError, TypeError):
            raise DataKeyError(
                "数据密钥无效 / DISPATCH_DATA_KEY is not a Fernet key (urlsafe base64 of 32 bytes)"
            ) from None
        self._many = MultiFernet(self._fernets)

    def encrypt(self, value: str) -> str:
        """The token of ``value`` (ASCII text)."""
        return self._fernets[0].encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The value of ``token``; raises :class:`DataKeyError` for a token of another key."""
        try:
            return self._many.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeEncodeError):
            raise DataKeyError(
                "无法解密：数据密钥不符 / a stored value does not decrypt with the data key "
                "(was DISPATCH_DATA_KEY or the key file changed?)"
            ) from None


def key_file(url: str) -> Path:
    """Where the generated key of database ``url`` is kept."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
        return Path(database + ".key")
    return Path("var") / "data.key"


def load_key(url: str, configured: str | None) -> str:
    """The data key: ``configured`` when set, else the key file of ``url`` (made when absent,
    readable by its owner only)."""
    if configured:
        return configured
    path = key_file(url)
    with _lock:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(Fernet.generate_key().decode("ascii") + "\n")
        return path.read_text(encoding="ascii").strip()


def attach(dialect: Any, cipher: DataCipher) -> None:
    """Make ``cipher`` the one of the engine whose dialect this is."""
    setattr(dialect, _ATTRIBUTE, cipher)


def cipher_of(dialect: Any) -> DataCipher:
    """The cipher of ``dialect``'s engine; raises :class:`DataKeyError` when it has none."""
    cipher: DataCipher | None = getattr(dialect, _ATTRIBUTE, None)
    if cipher is None:
        raise DataKeyError("没有数据密钥 / no data key: the database was not opened by the app")
    return cipher


def cipher_for(connection: Any, configured: str | None) -> DataCipher:
    """The cipher of a SQLAlchemy ``connection``: its engine's, else one of the key
    ``configured`` or kept in the key file of the connection's database."""
    found: DataCipher | None = getattr(connection.dialect, _ATTRIBUTE, None)
    if found is not None:
        return found
    url = connection.engine.url.render_as_string(hide_password=False)
    return DataCipher(load_key(url, configured))
