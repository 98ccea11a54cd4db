"""How messages and pages say things: plural forms, a found value in the user's words, close matches."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


def plural(count: int, word: str, many: str | None = None) -> str:
    """'1 paper', '2 papers', '0 papers'; `many` for irregular plurals ('1 match', '2 matches')."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def found(value: Any) -> str:
    """What a YAML value is, as a person would say it."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "…"
        shown = shown if shown.isprintable() else repr(shown)[1:-1]  # a message stays one line
        return f"'{shown}'" if value.strip() else "an empty text"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    if isinstance(value, dict):
        return "a mapping of keys"
    return type(value).__name__


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """' (did you mean 'title'?)' for a near miss, else ''."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""
