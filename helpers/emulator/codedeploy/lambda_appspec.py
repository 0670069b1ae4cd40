"""The AppSpec of a Lambda deployment, and the traffic-shifting schedule of its configuration.

An AppSpec for Lambda (reference-appspec-file-structure-resources.md, -hooks.md) names one
function of type AWS::Lambda::Function with its alias, current and target versions, and
at most one hook function per lifecycle event:

    version: 0.0
    Resources:
      - myLambdaFunction:
          Type: AWS::Lambda::Function
          Properties: {Name: f, Alias: live, CurrentVersion: "1", TargetVersion: "2"}
    Hooks:
      - BeforeAllowTraffic: check-before
      - AfterAllowTraffic: check-after

Keys are read case-insensitively (AWS's own examples use both "Resources" and "resources").
The revision is AppSpecContent (or the older String) in the request, or a YAML/JSON
AppSpec object in S3.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import yaml

from .. import moto_backends

HOOK_EVENTS = ("BeforeAllowTraffic", "AfterAllowTraffic")
LAMBDA_EVENTS = ["BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"]
APPSPEC_LIMIT = 1024 * 1024  # bytes: an AppSpec is a small document


class AppSpecError(ValueError):
    """The AppSpec cannot be used; the message says why (the deployment fails with it)."""


@dataclass(frozen=True)
class LambdaAppSpec:
    function: str
    alias: str
    current_version: str
    target_version: str
    hooks: dict[str, str] = field(default_factory=dict)  # lifecycle event -> function


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without anchors and aliases: an AppSpec needs none, and aliases can make a
    small document expand without bound."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("YAML aliases are not allowed in an AppSpec file")
        return super().compose_node(parent, index)


def _lower_keys(value: object) -> dict:
    if not isinstance(value, dict):
        return {}
    return {str(key).lower(): item for key, item in value.items()}


def _version(value: object, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value) == "":
        raise AppSpecError(f"The AppSpec file's {what} must be a version number.")
    return str(value)


def parse(text: str) -> LambdaAppSpec:
    """The AppSpec's one Lambda function and its hooks, or AppSpecError."""
    if len(text.encode()) > APPSPEC_LIMIT:
        raise AppSpecError("The AppSpec file is larger than 1 MB.")
    try:
        document = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 (safe, no aliases); JSON is YAML
    except yaml.YAMLError as error:
        raise AppSpecError(f"The AppSpec file is not valid YAML or JSON: {error}") from None
    root = _lower_keys(document)
    resources = root.get("resources")
    if not isinstance(resources, list) or len(resources) != 1:
        raise AppSpecError("The AppSpec file must name exactly one resource under Resources.")
    entry = resources[0]
    if not isinstance(entry, dict) or len(entry) != 1:
        raise AppSpecError("Each resource of the AppSpec file is a name and its definition.")
    resource = _lower_keys(next(iter(entry.values())))
    if resource.get("type") != "AWS::Lambda::Function":
        raise AppSpecError("The AppSpec file's resource must be of type AWS::Lambda::Function.")
    properties = _lower_keys(resource.get("properties"))
    function, alias = properties.get("name"), properties.get("alias")
    if not isinstance(function, str) or not function or not isinstance(alias, str) or not alias:
        raise AppSpecError("The AppSpec file's function needs a Name and an Alias.")
    return LambdaAppSpec(
        function,
        alias,
        _version(properties.get("currentversion"), "CurrentVersion"),
        _version(properties.get("targetversion"), "TargetVersion"),
        _hooks(root.get("hooks")),
    )


def _hooks(section: object) -> dict[str, str]:
    if section is None:
        return {}
    items = section if isinstance(section, list) else [section]
    hooks: dict[str, str] = {}
    for item in items:
        if not isinstance(item, dict):
            raise AppSpecError("Each hook of the AppSpec file is an event and a function name.")
        for event, function in item.items():
            if event not in HOOK_EVENTS:
                raise AppSpecError(
                    f"The hook {event} is not a Lambda lifecycle event: use BeforeAllowTraffic "
                    "or AfterAllowTraffic."
                )
            if not isinstance(function, str) or not function:
                raise AppSpecError(f"The hook {event} must name a Lambda function.")
            hooks[event] = function
    return hooks


def revision_text(account: str, revision: dict) -> str:
    """The AppSpec text of a Lambda revision (in the request, or an object in S3)."""
    kind = revision.get("revisionType")
    if kind == "AppSpecContent":
        content = revision["appSpecContent"]
        text = content.get("content") or ""
        sha256 = content.get("sha256")
        if sha256 and hashlib.sha256(text.encode()).hexdigest() != str(sha256).lower():
            raise AppSpecError("The AppSpec content does not match its sha256.")
        return text
    if kind == "String":
        return revision["string"].get("content") or ""
    location = revision["s3Location"]
    if not moto_backends.owns_bucket(account, location["bucket"]):
        raise AppSpecError("The specified bucket does not exist")
    found = moto_backends.get_object(
        account, location["bucket"], location["key"], location.get("version")
    )
    if found is None:
        raise AppSpecError("The specified key does not exist.")
    try:
        return found.data.decode()
    except UnicodeDecodeError:
        raise AppSpecError("The AppSpec file in S3 is not text (YAML or JSON).") from None


# --- traffic shifting ------------------------------------------------------------------


def shifting_steps(routing: dict | None) -> list[tuple[int, float]]:
    """The target version's share after each step, and the minutes to wait after it:
    canary (x% then 100%), linear (x% more every interval), all at once (100%)."""
    routing = routing or {}
    if routing.get("type") == "TimeBasedCanary":
        canary = routing.get("timeBasedCanary") or {}
        return [
            (int(canary.get("canaryPercentage") or 0), float(canary.get("canaryInterval") or 0)),
            (100, 0.0),
        ]
    if routing.get("type") == "TimeBasedLinear":
        linear = routing.get("timeBasedLinear") or {}
        step = max(int(linear.get("linearPercentage") or 100), 1)
        interval = float(linear.get("linearInterval") or 0)
        steps = [(share, interval) for share in range(step, 100, step)]
        return [*steps, (100, 0.0)]
    return [(100, 0.0)]
