"""How a rule's script reports a bad input: one line in its log, not a traceback."""

from __future__ import annotations

import sys


def one_line_errors() -> None:
    """In a rule's script: a bad input (ValueError, FileNotFoundError) goes to the log as its one-line
    message, not a traceback; anything else (a bug) keeps its traceback."""

    def hook(kind, error, traceback):
        if issubclass(kind, (ValueError, FileNotFoundError)):
            print(f"{kind.__name__}: {error}", file=sys.stderr)
        else:
            sys.__excepthook__(kind, error, traceback)

    sys.excepthook = hook
