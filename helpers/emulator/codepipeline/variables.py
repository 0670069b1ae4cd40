"""Variable references in action configuration: #{Namespace.Variable}.

`codepipeline` holds the execution's implicit variables (PipelineExecutionId), `variables`
the V2 pipeline-level ones, and every other namespace is an earlier action's output.
"""

from __future__ import annotations

import re

REFERENCE = re.compile(r"#\{([A-Za-z0-9@\-_]+)\.([A-Za-z0-9@\-_.]+)\}")


class UnresolvedVariable(Exception):
    """A reference whose value does not exist: fails the action that uses it."""


def references(text: str) -> list[tuple[str, str]]:
    return REFERENCE.findall(text)


def resolve(text: str, values: dict[str, dict[str, str]]) -> str:
    """Replace every #{ns.name} with values[ns][name]."""

    def replace(match: re.Match) -> str:
        namespace, name = match.groups()
        try:
            return values[namespace][name]
        except KeyError:
            raise UnresolvedVariable(
                f"The variable #{{{namespace}.{name}}} could not be resolved: "
                f"namespace {namespace} has no variable {name} in this execution"
            ) from None

    return REFERENCE.sub(replace, text)


def resolve_configuration(configuration: dict, values: dict[str, dict[str, str]]) -> dict:
    return {key: resolve(str(value), values) for key, value in configuration.items()}


def resolve_action_members(action: dict, values: dict[str, dict[str, str]]) -> dict:
    """A copy of an action declaration whose members beyond configuration that take
    variables (a compute action's commands and environment variable values) are resolved."""
    resolved = dict(action)
    if action.get("commands"):
        resolved["commands"] = [resolve(str(c), values) for c in action["commands"]]
    if action.get("environmentVariables"):
        resolved["environmentVariables"] = [
            {**v, "value": resolve(str(v.get("value", "")), values)}
            for v in action["environmentVariables"]
        ]
    return resolved
