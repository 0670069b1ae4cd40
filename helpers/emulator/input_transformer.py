"""EventBridge's input transformer, as AWS documents it (eb-transform-target-input.md).

A target's InputTemplate names variables as <name>; InputPathsMap gives each a JSON path
into the event. Where a variable stands as a JSON value (outside quotes), AWS inserts the
value as JSON, so a string gets its quotes: {"instance": <instance>} becomes
{"instance": "i-0123456789"}. Inside quotes it inserts the text, escaped for a JSON
string. A path the event lacks gives null (as a value) or nothing (inside quotes).
moto inserted every value bare, so a string variable outside quotes made invalid JSON and
the target never ran.

Pure functions: the template and the paths are the learner's, hostile until checked; a
template that is not JSON after substitution is delivered as its text, as AWS does for
plain-text templates.
"""

from __future__ import annotations

import json
import re
from typing import Any

VARIABLE = re.compile(r"<([A-Za-z0-9_.\-]{1,256})>")
# aws.events.event is the event without detail; .json the whole event (both unescaped).
PREDEFINED = ("aws.events.rule-arn", "aws.events.rule-name", "aws.events.event.ingestion-time")


def values(paths_map: dict[str, str], event: dict[str, Any], predefined: dict[str, Any]) -> dict:
    """Each variable's value: what its path finds in the event (missing: absent)."""
    from jsonpath_ng.ext import parse

    found: dict[str, Any] = dict(predefined)
    found["aws.events.event.json"] = event
    found["aws.events.event"] = {k: v for k, v in event.items() if k != "detail"}
    for name, path in (paths_map or {}).items():
        try:
            matches = parse(str(path)).find(event)
        except Exception:  # a path jsonpath cannot read matches nothing
            continue
        if matches:
            found[name] = matches[0].value
    return found


def render(template: str, found: dict[str, Any]) -> str:
    """The template with each <variable> replaced, quoted as its place in the JSON needs."""
    out: list[str] = []
    in_string = escaped = False
    position = 0
    for match in VARIABLE.finditer(template):
        for char in template[position : match.start()]:
            in_string, escaped = _scan(char, in_string, escaped)
        out.append(template[position : match.start()])
        name = match.group(1)
        if name not in found:
            out.append("" if in_string else "null")
        elif in_string:
            value = found[name]
            text = value if isinstance(value, str) else json.dumps(value)
            out.append(json.dumps(text)[1:-1])
        else:
            out.append(json.dumps(found[name]))
        position = match.end()
    out.append(template[position:])
    return "".join(out)


def _scan(char: str, in_string: bool, escaped: bool) -> tuple[bool, bool]:
    if escaped:
        return in_string, False
    if char == "\\" and in_string:
        return in_string, True
    if char == '"':
        return not in_string, False
    return in_string, False


def transform(template: str | None, paths_map: dict[str, str], event: dict, **predefined) -> Any:
    """The target's input: parsed JSON when the rendered template is JSON, else its text."""
    if not template:
        return event
    rendered = render(template, values(paths_map, event, predefined))
    try:
        return json.loads(rendered)
    except ValueError:
        return rendered
