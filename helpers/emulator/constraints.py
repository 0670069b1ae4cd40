"""The constraints of the API model that botocore's own validator leaves out: maximum
lengths and values, enums and patterns. AWS checks them before the service sees a request
and answers "N validation errors detected: Value 'x' at 'a.b' failed to satisfy
constraint: ...", the message built here; each service names the error (CodePipeline
ValidationException, CodeBuild InvalidInputException)."""

from __future__ import annotations

import functools
import re
from collections.abc import Container
from typing import Any

# Java's Unicode classes, which Python's re lacks, as near equivalents.
_UNICODE_CLASSES = {r"\p{L}": r"\w", r"\p{N}": r"\w", r"\p{Z}": r"\s"}


@functools.cache
def _pattern(source: str) -> re.Pattern | None:
    for java, python in _UNICODE_CLASSES.items():
        source = source.replace(java, python)
    try:
        return re.compile(source)
    except re.error:  # a pattern Python cannot read is not checked
        return None


def violations(
    value: Any, shape, patterns: Container[str] | None = None, path: str = ""
) -> list[str]:
    """Each broken constraint of value (a request already valid for botocore) as AWS words
    it; paths name list items as AWS does (stages.1.member.name, 1-based). Patterns are
    checked for the shapes named in patterns (all when None)."""
    if value is None or shape is None:
        return []
    found: list[str] = []
    meta = shape.metadata
    kind = shape.type_name
    if kind in ("list", "map", "string") and isinstance(value, (list, dict, str)):
        if "max" in meta and len(value) > meta["max"]:
            found.append(message(value, path, f"have length less than or equal to {meta['max']}"))
    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                where = f"{path}.{name}" if path else name
                found += violations(value[name], member, patterns, where)
    elif kind == "list" and isinstance(value, list):
        for index, item in enumerate(value, start=1):
            found += violations(item, shape.member, patterns, f"{path}.{index}.member")
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            found += violations(key, shape.key, patterns, f"{path}.key")
            found += violations(item, shape.value, patterns, f"{path}.{key}.member")
    elif kind == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            found.append(message(value, path, f"satisfy enum value set: [{', '.join(shape.enum)}]"))
        checked = "pattern" in meta and (patterns is None or shape.name in patterns)
        pattern = _pattern(meta["pattern"]) if checked else None
        if pattern is not None and value and not pattern.fullmatch(value):
            found.append(
                message(value, path, f"satisfy regular expression pattern: {meta['pattern']}")
            )
    elif kind in ("integer", "long") and isinstance(value, int):
        if "max" in meta and value > meta["max"]:
            found.append(message(value, path, f"have value less than or equal to {meta['max']}"))
    return found


def message(value: Any, path: str, rule: str) -> str:
    """One violation as AWS words it; rule follows "Member must"."""
    return f"Value '{value}' at '{path}' failed to satisfy constraint: Member must {rule}"


def one_error(value: Any, path: str, rule: str) -> str:
    """The whole message for a single violation (the services' own extra rules)."""
    return report([message(value, path, rule)])


def report(found: list[str]) -> str:
    count = len(found)
    return f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(found)
