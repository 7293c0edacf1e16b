"""Errors caused by the user's input. The CLI prints them (no traceback) and exits 2."""


class InputError(Exception):
    """Bad input: a file, spec, URL or path. The message says what is wrong and how to fix it."""
