"""Database URLs as logs and messages may show them: never with the password."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# password=... in a key=value string or a URL's query: quoted, or up to a space or the next parameter.
_CONNINFO_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+)")


def masked(url: str) -> str:
    """``url`` with its password (``user:password@`` in a URL, ``password=`` in a URL's query or a
    ``key=value`` connection string) shown as ``***``."""
    parts = urlsplit(url) if "://" in url else None
    if parts is not None and parts.password is not None:
        user, host = parts.netloc.rsplit("@", 1)[0].split(":", 1)[0], parts.netloc.rsplit("@", 1)[1]
        url = urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
    return _CONNINFO_PASSWORD.sub(r"\1***", url)
