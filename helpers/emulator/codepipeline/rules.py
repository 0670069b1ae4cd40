"""Rule types of V2 stage conditions (ListRuleTypes) and how the kit evaluates them offline.

A condition (beforeEntry, onSuccess, onFailure of a stage) holds rules; it succeeds when all
its rules succeed. Offline the kit evaluates:
- VariableCheck: Variable (usually a #{Namespace.Name} reference), Operator (EQ, NE, GT,
  GE, LT, LE, CONTAINS, MATCHES) and Value.
- CloudWatchAlarm: AlarmName (and AlarmStates, default ALARM) in the local CloudWatch;
  the rule fails while the alarm is in one of those states. WaitTime (minutes, scaled by
  LAB_CODEPIPELINE_TIMEOUT_SCALE) makes the condition wait first (it can be overridden
  meanwhile), as AWS watches the alarm for that long.
- LambdaInvoke: the function runs for real (providers/lambda_invoke.py: evaluate_rule) on a
  job event; a PutJobFailureResult or an unhandled error fails the rule.
DeploymentWindow and Commands cannot be evaluated offline: such a rule fails with a message
that says so.

RULE_TYPES is the one place that registers a rule type: its `evaluate` (RuleContext ->
summary, raising RuleFailed) is what the runtime calls, and the "cannot evaluate" message
lists the types that have one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import moto_backends
from .action_types import Property
from .action_types import config_property as _p
from .providers import lambda_invoke


@dataclass
class RuleContext:
    """What a rule's evaluation gets from the runtime."""

    account: str
    region: str  # the rule's, else the pipeline's
    configuration: dict  # with variables resolved
    # Wait this many minutes (scaled by LAB_CODEPIPELINE_TIMEOUT_SCALE) watching something;
    # an override of the condition ends the wait early.
    watch: Callable[[float], None] = field(default=lambda minutes: None, repr=False)


@dataclass(frozen=True)
class RuleType:
    provider: str
    properties: tuple[Property, ...]
    inputs: tuple[int, int] = (0, 0)
    # Evaluates a rule offline: the summary if it passes; raises RuleFailed if not. None:
    # the kit cannot evaluate the type.
    evaluate: Callable[[RuleContext], str] | None = None

    @property
    def id(self) -> dict:
        return {"category": "Rule", "owner": "AWS", "provider": self.provider, "version": "1"}

    def describe(self) -> dict:
        return {
            "id": self.id,
            "settings": {},
            "ruleConfigurationProperties": [p.describe() for p in self.properties],
            "inputArtifactDetails": {
                "minimumCount": self.inputs[0],
                "maximumCount": self.inputs[1],
            },
        }


OPERATORS = ("EQ", "NE", "GT", "GE", "LT", "LE", "CONTAINS", "MATCHES")


def find(type_id: dict) -> RuleType | None:
    if (
        type_id.get("category") != "Rule"
        or type_id.get("owner", "AWS") != "AWS"
        or type_id.get("version", "1") != "1"
    ):
        return None
    return next((r for r in RULE_TYPES if r.provider == type_id.get("provider")), None)


class RuleFailed(Exception):
    def __init__(self, message: str, code: str = "RuleFailed") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def variable_check(configuration: dict) -> str:
    """The summary if the check passes; raises RuleFailed if not."""
    variable, value = configuration.get("Variable", ""), configuration.get("Value", "")
    operator = configuration.get("Operator", "EQ")
    if operator not in OPERATORS:
        raise RuleFailed(
            f"Operator {operator} is not one of {', '.join(OPERATORS)}", "ConfigurationError"
        )
    if operator in ("GT", "GE", "LT", "LE"):
        try:
            left, right = float(variable), float(value)
        except ValueError:
            raise RuleFailed(
                f"{operator} compares numbers: {variable!r} and {value!r}", "ConfigurationError"
            ) from None
        passed = {"GT": left > right, "GE": left >= right, "LT": left < right, "LE": left <= right}[
            operator
        ]
    elif operator == "MATCHES":
        passed = re.fullmatch(value, variable) is not None
    elif operator == "CONTAINS":
        passed = value in variable
    else:
        passed = (variable == value) == (operator == "EQ")
    text = f"{variable!r} {operator} {value!r}"
    if not passed:
        raise RuleFailed(f"The variable check failed: {text} is false")
    return f"The variable check passed: {text}"


def alarm_check(account: str, region: str, configuration: dict) -> str:
    name = configuration.get("AlarmName", "")
    states = [s.strip() for s in (configuration.get("AlarmStates") or "ALARM").split(",")]
    state = moto_backends.alarm_state(account, region, name)
    if state is None:
        raise RuleFailed(f"The CloudWatch alarm {name} does not exist", "ConfigurationError")
    if state in states:
        raise RuleFailed(f"The CloudWatch alarm {name} is in state {state}")
    return f"The CloudWatch alarm {name} is in state {state}"


def alarm_rule(ctx: RuleContext) -> str:
    """Watch the alarm for WaitTime minutes first (as AWS does), then check it."""
    minutes = float(ctx.configuration.get("WaitTime") or 0)
    if minutes > 0:
        ctx.watch(minutes)
    return alarm_check(ctx.account, ctx.region, ctx.configuration)


RULE_TYPES: tuple[RuleType, ...] = (
    RuleType(
        "CloudWatchAlarm",
        (
            _p("AlarmName", True, True, "The CloudWatch alarm to watch"),
            _p("AlarmStates", description="Comma-separated states that fail the rule (ALARM)"),
            _p("WaitTime", description="Minutes to watch the alarm", type="Number"),
        ),
        evaluate=alarm_rule,
    ),
    RuleType(
        "DeploymentWindow",
        (
            _p("Cron", True, True, "When deployments may enter"),
            _p("TimeZone"),
        ),
    ),
    RuleType(
        "LambdaInvoke",
        (
            _p("FunctionName", True, True),
            _p("UserParameters"),
        ),
        (0, 5),
        evaluate=lambda ctx: lambda_invoke.evaluate_rule(
            ctx.account, ctx.region, ctx.configuration
        ),
    ),
    RuleType(
        "VariableCheck",
        (
            _p("Variable", True, True, "The value to check, e.g. #{BuildVariables.Result}"),
            _p("Value", True, description="What to compare it with"),
            _p("Operator", True, description="EQ, NE, GT, GE, LT, LE, CONTAINS or MATCHES"),
        ),
        evaluate=lambda ctx: variable_check(ctx.configuration),
    ),
    RuleType("Commands", (), (0, 5)),
)


def evaluate(type_id: dict, ctx: RuleContext) -> str:
    """Evaluate a rule of this type: the summary if it passes; raises RuleFailed if not."""
    rule_type = find(type_id)
    if rule_type is None or rule_type.evaluate is None:
        evaluated = " and ".join(r.provider for r in RULE_TYPES if r.evaluate is not None)
        raise RuleFailed(
            f"The lab kit cannot evaluate {type_id.get('provider')} rules offline "
            f"(it evaluates {evaluated} rules)",
            "ConfigurationError",
        )
    return rule_type.evaluate(ctx)
