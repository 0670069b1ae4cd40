"""What a provider gets from the runtime (ActionContext), how it reports failure, and what
it tells the rest of the kit (Runner)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..artifacts import Location

if TYPE_CHECKING:  # the runtime imports this module
    from ..runtime import Approval


class ActionFailed(Exception):
    """Fails the action; code and message become its errorDetails."""

    def __init__(self, message: str, code: str = "JobFailed") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass
class Revision:
    """A source action's revision (commit, object version) as GetPipelineState shows it."""

    revision_id: str
    change_id: str
    created: dt.datetime
    summary: str | None = None
    url: str | None = None


def _no_approval() -> Approval:
    raise RuntimeError("open_approval is set by the runtime before an action runs")


@dataclass
class ActionContext:
    account: str
    region: str
    pipeline_name: str
    execution_id: str
    stage_name: str
    action_name: str
    action_type_id: dict
    configuration: dict  # with variables resolved
    inputs: dict[str, Location]  # by artifact name, in declaration order
    outputs: dict[str, Location]
    input_revisions: dict[str, str | None]  # artifact name -> source revision it carries
    timeout: float  # seconds
    workspace: Path
    source_revision: str | None = None  # an override (pushed commit, sourceRevisions)
    action_execution_id: str = ""
    pipeline_arn: str = ""
    role_arn: str = ""  # the action's roleArn, else the pipeline's: what the action acts as
    encryption_key: dict | None = None  # the artifact store's, if it declares one
    # The pipeline's condition variable (the runtime always passes it).
    condition: threading.Condition = field(default_factory=threading.Condition, repr=False)
    # Set by the engine: report progress, wait for an outside event, take an approval.
    report: Callable[..., None] = field(default=lambda **_: None, repr=False)
    wait_until: Callable[[Callable[[], bool], float], bool] = field(
        default=lambda predicate, timeout: predicate(), repr=False
    )
    open_approval: Callable[[], Approval] = field(default=_no_approval, repr=False)
    output_variables: dict[str, str] = field(default_factory=dict)
    revision: Revision | None = None
    # The whole action declaration, for members beyond configuration (the Commands
    # action's commands, outputVariables, environmentVariables, outputArtifacts' files).
    declaration: dict = field(default_factory=dict)

    def console(self, service: str, fragment: str) -> str:
        return f"https://console.aws.amazon.com/{service}/home?region={self.region}#{fragment}"


@dataclass(frozen=True)
class Runner:
    """What runs an action type offline, and what the rest of the kit asks of its provider.

    An ActionType entry of the catalogue (action_types.py) carrying it is the registration:
    the runtime, validation, messages, the pipeline view and ListDeployActionExecutionTargets
    read these fields, never the provider's name.
    """

    run: Callable[[ActionContext], None]
    name: str | None = None  # how messages name the provider (default: the type's provider)
    # CreatePipeline/UpdatePipeline: configuration checks beyond the type's properties,
    # check(action_name, configuration), raising InvalidActionDeclarationException.
    check: Callable[[str, dict], None] | None = None
    # CreatePipeline/UpdatePipeline: checks of the whole action declaration (members
    # beyond configuration), check_action(action), raising AWS's error.
    check_action: Callable[[dict], None] | None = None
    revision_type: str | None = None  # a source's sourceRevisions revisionType
    # the view's detail panel: build-log, deployment-events, action-log, stack-events
    panel: str | None = None
    # ListDeployActionExecutionTargets: targets(account, region, external_execution_id).
    targets: Callable[[str, str, str], list[dict]] | None = None
