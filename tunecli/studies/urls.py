"""How a store is named in messages: the embedded default file, or a URL with its password masked."""

from __future__ import annotations

import re
from pathlib import Path

DEFAULT_FILE = "tunecli.journal"


def mask(url: str | None) -> str:
    """Hide the password in ``scheme://user:password@host`` (up to the last ``@``: a password may hold one)
    and in a ``password=`` query parameter."""
    if not url:
        return DEFAULT_FILE
    url = re.sub(r"(://[^:/@\s]*:)[^\s]*@", r"\1***@", url)
    return re.sub(r"(?i)((?:password|passwd|pwd)=)[^&\s]*", r"\1***", url)


def describe(url: str | None) -> str:
    """The store as messages name it: the masked URL, or the default file and the folder it is in."""
    return mask(url) if url else f"{DEFAULT_FILE} (in {Path.cwd()})"
