"""Errors caused by the user's input. The CLI prints them (no traceback) and exits 2.
Messages name a store by `masked(uri)`: a password never reaches a terminal or a log."""

from urllib.parse import urlsplit, urlunsplit


class InputError(Exception):
    """Bad input: a file, spec, URL or path. The message says what is wrong and how to fix it."""


def masked(uri: str) -> str:
    """A URI as it may be shown: its password replaced by ***."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)))
