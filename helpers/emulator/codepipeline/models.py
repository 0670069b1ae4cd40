"""CodePipeline state: pipelines (every version of their definition), executions, approvals,
tags; the rules of the API operations. The runtime (runtime.py) runs the executions.

State per account and region (moto's BackendDict). A push to a CodeCommit branch starts
the pipelines whose CodeCommit source action watches it and polls (on_branch_moved); one
with PollForSourceChanges false starts only by an EventBridge rule (start_by_rule).
"""

from __future__ import annotations

import copy
import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from moto.core.base_backend import BackendDict, BaseBackend

from ... import settings
from .. import safepaths
from ..core import now
from . import action_types, custom_actions, git_triggers, jobs, runtime, validation, webhooks
from . import exceptions as err
from .runtime import Execution

log = logging.getLogger(__name__)

MAX_TAGS = 50
CALLER = "arn:aws:iam::{account}:root"  # offline there is no IAM identity behind a call


class Pipeline:
    def __init__(self, account: str, region: str, declaration: dict, tags: dict[str, str]) -> None:
        self.account = account
        self.region = region
        self.name = declaration["name"]
        self.versions: dict[int, dict] = {}
        self.created = self.updated = now()
        self.tags = dict(tags)
        self.executions: dict[str, Execution] = {}  # oldest first
        self.request_tokens: dict[str, str] = {}
        self.cond = threading.Condition(threading.RLock())
        self.gates: dict[str, runtime.StageGate] = {}
        self.stage_latest: dict[str, Execution] = {}
        self.action_latest: dict[tuple[str, str], runtime.ActionRun] = {}
        self.put_revisions: dict[str, str] = {}  # source action -> last PutActionRevision
        self.set_declaration(declaration, 1)

    @property
    def arn(self) -> str:
        return f"arn:aws:codepipeline:{self.region}:{self.account}:{self.name}"

    @property
    def declaration(self) -> dict:
        return self.versions[self.version]

    @property
    def workspace(self) -> Path:
        """This pipeline's folder (action workspaces): in this process's folder, like the
        other services', and named so that a pipeline named '..' or '.' has a folder of its
        own (safepaths.component), which deleting the pipeline removes, nothing else."""
        return (
            settings.emulator_dir()
            / "codepipeline"
            / safepaths.account_id(self.account)
            / safepaths.region(self.region)
            / safepaths.component(self.name)
        )

    def set_declaration(self, declaration: dict, version: int) -> None:
        declaration = copy.deepcopy(declaration)
        declaration["version"] = version
        self.versions[version] = declaration
        self.version = version

    def gate(self, stage_name: str) -> runtime.StageGate:
        return self.gates.setdefault(stage_name, runtime.StageGate())

    def artifact_bucket(self, action: dict) -> str:
        declaration = self.declaration
        stores = declaration.get("artifactStores")
        if stores:
            store = stores.get(action.get("region") or self.region) or stores[self.region]
            return store["location"]
        return declaration["artifactStore"]["location"]

    def metadata(self) -> dict:
        return {"pipelineArn": self.arn, "created": self.created, "updated": self.updated}

    def summary(self) -> dict:
        declaration = self.declaration
        return {
            "name": self.name,
            "version": self.version,
            "pipelineType": declaration["pipelineType"],
            "executionMode": declaration["executionMode"],
            "created": self.created,
            "updated": self.updated,
        }


class CodePipelineLabBackend(BaseBackend):
    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.pipelines: dict[str, Pipeline] = {}
        self.lock = threading.RLock()
        self.custom_types = custom_actions.CustomTypes()
        self.jobs = jobs.JobQueue(account_id)
        self.webhooks = webhooks.Webhooks(account_id, region_name)

    def reset(self) -> None:
        for pipeline in list(getattr(self, "pipelines", {}).values()):
            self._stop_all(pipeline)
            shutil.rmtree(pipeline.workspace, ignore_errors=True)
        super().reset()

    @property
    def caller(self) -> str:
        return CALLER.format(account=self.account_id)

    # -- definitions ------------------------------------------------------------------

    def create_pipeline(self, declaration: dict, tags: list[dict] | None) -> Pipeline:
        if declaration.get("version") not in (None, 1):
            raise err.InvalidStructureException(
                "The version of a new pipeline must be 1 (or left out)"
            )
        declaration = validation.normalize(declaration)
        tag_map = self._check_tags({}, tags or [])
        with self.lock:
            if declaration["name"] in self.pipelines:
                raise err.PipelineNameInUseException(
                    f"A pipeline with the name '{declaration['name']}' already exists in "
                    f"account '{self.account_id}'"
                )
            validation.validate(declaration, self.account_id, self.region_name)
            pipeline = Pipeline(self.account_id, self.region_name, declaration, tag_map)
            self.pipelines[pipeline.name] = pipeline
        # Creating a pipeline starts it, as in AWS.
        self.start_execution(
            pipeline, {"triggerType": "CreatePipeline", "triggerDetail": self.caller}
        )
        return pipeline

    def update_pipeline(self, declaration: dict) -> Pipeline:
        pipeline = self.get_pipeline(declaration["name"])
        declaration = validation.normalize(declaration)
        if declaration.get("version") not in (None, pipeline.version):
            raise err.InvalidStructureException(
                f"The pipeline version {declaration.get('version')} is not the current "
                f"version {pipeline.version}; get the pipeline again and update that"
            )
        validation.validate(declaration, self.account_id, self.region_name)
        with pipeline.cond:
            pipeline.set_declaration(declaration, pipeline.version + 1)
            pipeline.updated = now()
            for execution in pipeline.executions.values():
                if not execution.final:
                    runtime.fail_for_update(execution)
        return pipeline

    def get_pipeline(self, name: str) -> Pipeline:
        pipeline = self.pipelines.get(name)
        if pipeline is None:
            raise err.PipelineNotFoundException(
                f"Account '{self.account_id}' does not have a pipeline with name '{name}'"
            )
        return pipeline

    def get_declaration(self, name: str, version: int | None) -> tuple[Pipeline, dict]:
        pipeline = self.get_pipeline(name)
        if version is None:
            return pipeline, pipeline.declaration
        if version not in pipeline.versions:
            raise err.PipelineVersionNotFoundException(
                f"Pipeline '{name}' does not have version {version}"
            )
        return pipeline, pipeline.versions[version]

    def delete_pipeline(self, name: str) -> None:
        with self.lock:
            pipeline = self.pipelines.pop(name, None)
        if pipeline is not None:  # AWS: deleting a missing pipeline succeeds
            self._stop_all(pipeline)
            shutil.rmtree(pipeline.workspace, ignore_errors=True)

    def _stop_all(self, pipeline: Pipeline) -> None:
        with pipeline.cond:
            for execution in pipeline.executions.values():
                if not execution.final:
                    runtime.stop(execution, abandon=True, reason="The pipeline was deleted")

    # -- executions -------------------------------------------------------------------

    def start_execution(
        self,
        pipeline: Pipeline,
        trigger: dict,
        variables: list[dict] | None = None,
        token: str | None = None,
        source_revisions: dict[str, str] | None = None,
        require_values: bool = False,
    ) -> Execution:
        with pipeline.cond:
            if token and token in pipeline.request_tokens:
                return pipeline.executions[pipeline.request_tokens[token]]
            resolved = self._resolve_variables(pipeline, variables or [], require_values)
            execution = Execution(pipeline, trigger, resolved, source_revisions or {})
            pipeline.executions[execution.id] = execution
            if token:
                pipeline.request_tokens[token] = execution.id
        runtime.start(execution)
        return execution

    def _resolve_variables(
        self, pipeline: Pipeline, given: list[dict], require_values: bool
    ) -> dict[str, str]:
        """Given values over defaults. StartPipelineExecution (require_values) refuses a
        variable with neither; an automatic start (creation, push, poll, rule) leaves it out,
        so an action that refers to it fails with the unresolved reference."""
        declared = {v["name"]: v for v in pipeline.declaration.get("variables") or []}
        if given and pipeline.declaration["pipelineType"] != "V2":
            raise err.ValidationException(
                "Pipeline variables can only be used with pipeline type V2"
            )
        values: dict[str, str] = {}
        for variable in given:
            if variable["name"] not in declared:
                raise err.ValidationException(
                    f"Variable {variable['name']} is not declared in pipeline {pipeline.name}"
                )
            if variable["name"] in values:
                raise err.ValidationException(f"Variable {variable['name']} is given twice")
            values[variable["name"]] = variable["value"]
        for name, declaration in declared.items():
            if name not in values:
                if "defaultValue" in declaration:
                    values[name] = declaration["defaultValue"]
                elif require_values:
                    raise err.ValidationException(
                        f"Variable {name} has no default value: give it a value"
                    )
        return {name: values[name] for name in declared if name in values}

    def start_pipeline_execution(
        self,
        name: str,
        variables: list[dict] | None,
        token: str | None,
        source_revisions: list[dict] | None,
    ) -> Execution:
        pipeline = self.get_pipeline(name)
        overrides = self._source_overrides(pipeline, source_revisions or [])
        return self.start_execution(
            pipeline,
            {"triggerType": "StartPipelineExecution", "triggerDetail": self.caller},
            variables,
            token,
            overrides,
            require_values=True,
        )

    def _source_overrides(self, pipeline: Pipeline, revisions: list[dict]) -> dict[str, str]:
        sources = {a["name"]: a for a in pipeline.declaration["stages"][0]["actions"]}
        overrides = {}
        for revision in revisions:
            action = sources.get(revision["actionName"])
            if action is None:
                raise err.ValidationException(
                    f"Source action {revision['actionName']} is not in pipeline {pipeline.name}"
                )
            runner = action_types.runner_for(
                action["actionTypeId"], self.account_id, self.region_name
            )
            if runner.revision_type != revision["revisionType"]:
                raise err.ValidationException(
                    f"Revision type {revision['revisionType']} does not apply to source action "
                    f"{revision['actionName']}"
                )
            overrides[revision["actionName"]] = revision["revisionValue"]
        return overrides

    def get_execution(self, pipeline: Pipeline, execution_id: str) -> Execution:
        execution = pipeline.executions.get(execution_id)
        if execution is None:
            raise err.PipelineExecutionNotFoundException(
                f"Pipeline execution ID {execution_id} does not exist in pipeline {pipeline.name}"
            )
        return execution

    def stop_pipeline_execution(
        self, name: str, execution_id: str, abandon: bool, reason: str | None
    ) -> Execution:
        pipeline = self.get_pipeline(name)
        with pipeline.cond:
            execution = self.get_execution(pipeline, execution_id)
            if execution.status == "Stopping" and not abandon:
                raise err.DuplicatedStopRequestException(
                    f"Pipeline execution {execution_id} is already stopping; stop it with "
                    "abandon to abandon its running actions"
                )
            if execution.status not in ("InProgress", "Stopping"):
                raise err.PipelineExecutionNotStoppableException(
                    f"Pipeline execution {execution_id} is {execution.status} and cannot be stopped"
                )
            runtime.stop(execution, abandon, reason)
        return execution

    # -- approvals --------------------------------------------------------------------

    def put_approval_result(
        self, name: str, stage: str, action: str, result: dict, token: str
    ) -> object:
        pipeline = self.get_pipeline(name)
        declaration = pipeline.declaration
        stage_declaration = next((s for s in declaration["stages"] if s["name"] == stage), None)
        if stage_declaration is None:
            raise err.StageNotFoundException(f"Stage {stage} does not exist in pipeline {name}")
        if not any(a["name"] == action for a in stage_declaration["actions"]):
            raise err.ActionNotFoundException(
                f"Action {action} does not exist in stage {stage} of pipeline {name}"
            )
        if result.get("status") not in ("Approved", "Rejected"):
            raise err.ValidationException("result.status must be Approved or Rejected")
        with pipeline.cond:
            run = next(
                (
                    r
                    for e in pipeline.executions.values()
                    for r in e.actions
                    if r.stage == stage
                    and r.name == action
                    and r.approval is not None
                    and r.approval.token == token
                ),
                None,
            )
            approval = run.approval if run is not None else None
            if run is None or approval is None:  # a run is found only with its approval
                raise err.InvalidApprovalTokenException(
                    f"The token {token} is not valid for action {action} in stage {stage}"
                )
            if approval.result is not None or run.final:
                raise err.ApprovalAlreadyCompletedException(
                    f"The approval for action {action} in stage {stage} is already completed"
                )
            approval.result = (result["status"], result.get("summary") or "")
            approval.approved_at = now()
            run.updated_by = self.caller
            approval.by = self.caller
            pipeline.cond.notify_all()
            approved_at = approval.approved_at
        return approved_at

    # -- transitions --------------------------------------------------------------------

    def set_transition(
        self, name: str, stage: str, transition_type: str, enabled: bool, reason: str | None
    ) -> None:
        pipeline = self.get_pipeline(name)
        if transition_type not in ("Inbound", "Outbound"):
            raise err.ValidationException("transitionType must be Inbound or Outbound")
        stages = [s["name"] for s in pipeline.declaration["stages"]]
        if stage not in stages:
            raise err.StageNotFoundException(f"Stage {stage} does not exist in pipeline {name}")
        if transition_type == "Outbound":  # the outbound of a stage is the next one's inbound
            index = stages.index(stage) + 1
            if index >= len(stages):
                raise err.ValidationException(
                    f"Stage {stage} is the last stage; it has no outbound transition"
                )
            stage = stages[index]
        with pipeline.cond:
            gate = pipeline.gate(stage)
            gate.enabled = enabled
            gate.disabled_reason = None if enabled else reason
            gate.changed_by = self.caller
            gate.changed_at = now()
            pipeline.cond.notify_all()

    # -- revisions from outside --------------------------------------------------------

    def put_action_revision(
        self, name: str, stage: str, action: str, revision: dict
    ) -> tuple[bool, Execution | None]:
        """A new revision of a source action starts the pipeline with it; the same one
        again does nothing (newRevision false)."""
        pipeline = self.get_pipeline(name)
        stage_declaration = next(
            (s for s in pipeline.declaration["stages"] if s["name"] == stage), None
        )
        if stage_declaration is None:
            raise err.StageNotFoundException(f"Stage {stage} does not exist in pipeline {name}")
        declared = next((a for a in stage_declaration["actions"] if a["name"] == action), None)
        if declared is None:
            raise err.ActionNotFoundException(
                f"Action {action} does not exist in stage {stage} of pipeline {name}"
            )
        if not action_types.is_source(declared["actionTypeId"]):
            raise err.ValidationException(f"Action {action} is not a source action")
        with pipeline.cond:
            known = pipeline.put_revisions.get(action)
            run = pipeline.action_latest.get((stage, action))
            if known is None and run is not None and run.revision is not None:
                known = run.revision.revision_id
            latest = next(reversed(pipeline.executions.values()), None)
            if known == revision["revisionId"]:
                return False, latest
            pipeline.put_revisions[action] = revision["revisionId"]
        execution = self.start_execution(
            pipeline,
            {"triggerType": "PutActionRevision", "triggerDetail": action},
            source_revisions={action: revision["revisionId"]},
        )
        return True, execution

    # -- tags -----------------------------------------------------------------------------

    def pipeline_by_arn(self, arn: str) -> Pipeline:
        parts = arn.split(":")
        if len(parts) < 6 or parts[:3] != ["arn", "aws", "codepipeline"]:
            raise err.InvalidArnException(f"The ARN {arn} is not valid")
        pipeline = self.pipelines.get(parts[5])
        if pipeline is None or parts[3] != self.region_name or parts[4] != self.account_id:
            raise err.ResourceNotFoundException(f"The resource with the ARN {arn} was not found")
        return pipeline

    def taggable_by_arn(self, arn: str):
        """The pipeline, custom action type (arn:...:actiontype:Custom/<category>/<provider>/
        <version>) or webhook (arn:...:webhook:<name>) with this ARN; each has .tags."""
        parts = arn.split(":")
        if (
            len(parts) == 7
            and parts[:3] == ["arn", "aws", "codepipeline"]
            and parts[5] in ("actiontype", "webhook")
        ):
            found: webhooks.Webhook | custom_actions.CustomType | None = None
            if parts[3] == self.region_name and parts[4] == self.account_id:
                if parts[5] == "webhook":
                    found = self.webhooks.items.get(parts[6])
                else:
                    owner, category, provider, version = (parts[6].split("/") + [""] * 4)[:4]
                    entry = self.custom_types.entry(
                        {"category": category, "provider": provider, "version": version}
                    )
                    if owner == "Custom" and entry is not None and not entry.deleted:
                        found = entry
            if found is None:
                raise err.ResourceNotFoundException(
                    f"The resource with the ARN {arn} was not found"
                )
            return found
        return self.pipeline_by_arn(arn)

    def tag(self, arn: str, tags: list[dict]) -> None:
        pipeline = self.taggable_by_arn(arn)
        pipeline.tags = self._check_tags(pipeline.tags, tags)

    def untag(self, arn: str, keys: list[str]) -> None:
        pipeline = self.taggable_by_arn(arn)
        for key in keys:
            if key.startswith("aws:"):
                raise err.InvalidTagsException("Tag keys starting with aws: are reserved")
            pipeline.tags.pop(key, None)

    @staticmethod
    def _check_tags(existing: dict[str, str], tags: list[dict]) -> dict[str, str]:
        merged = dict(existing)
        for tag in tags:
            if tag["key"].startswith("aws:"):
                raise err.InvalidTagsException(
                    "Not allowed to modify system tags. System tags start with 'aws:'."
                )
            merged[tag["key"]] = tag["value"]
        if len(merged) > MAX_TAGS:
            raise err.TooManyTagsException(f"A resource can have at most {MAX_TAGS} tags")
        return merged

    # -- push triggers ------------------------------------------------------------------

    def on_branch_moved(self, repository: str, branch: str, new: str | None) -> None:
        """Polling: start every pipeline whose CodeCommit source action watches this branch
        and polls (PollForSourceChanges true or left out), triggerType PollForSourceChanges.

        AWS (action-reference-CodeCommit.md, update-change-detection.md): left out means
        true, CodePipeline polls the repository; "false" means it does not, and only an
        EventBridge rule targeting the pipeline starts it on a push (start_by_rule): no
        rule, no start. Offline the poll answers at once, with the pushed commit."""
        if new is None:
            return
        for pipeline in list(self.pipelines.values()):
            for action in _watching(pipeline, repository, branch):
                polling = str(action["configuration"].get("PollForSourceChanges", "true"))
                if polling.lower() == "false":
                    continue
                trigger = {"triggerType": "PollForSourceChanges", "triggerDetail": action["name"]}
                self.start_execution(pipeline, trigger, source_revisions={action["name"]: new})
                break  # one execution per pipeline, even with several matching sources

    def on_connection_push(
        self, event: git_triggers.PushEvent, usable: Callable[[dict], bool] | None = None
    ) -> list[Execution]:
        """A push to a repository served through a connection (the local git host's hook):
        every pipeline whose CodeStarSourceConnection source action the push starts, per its
        V2 triggers or its default change detection (git_triggers.py), runs once with the
        pushed commit as that action's revision."""
        started = []
        for pipeline in list(self.pipelines.values()):
            match = git_triggers.match_push(pipeline.declaration, event, usable)
            if match is not None:
                started.append(
                    self.start_execution(
                        pipeline,
                        match.trigger,
                        source_revisions={match.source_action_name: match.revision},
                    )
                )
        return started

    def start_by_rule(self, name: str, rule_arn: str, event: dict) -> None:
        """An EventBridge rule's CodePipeline target: StartPipelineExecution, triggerType
        CloudWatchEvent, triggerDetail the rule's ARN; each source action takes its latest
        revision (the branch tip), as a manual start does: the target passes no revision.

        Every matching event starts it, even a push to a branch the pipeline also polls:
        AWS runs it twice then ("This results in duplicate pipeline executions",
        update-change-detection.md; action-reference-CodeCommit.md tells to set
        PollForSourceChanges to false when a rule is configured)."""
        pipeline = self.pipelines.get(name)
        if pipeline is None:
            log.info("rule %s: no pipeline %s", rule_arn, name)
            return
        self.start_execution(
            pipeline, {"triggerType": "CloudWatchEvent", "triggerDetail": rule_arn}
        )


def _watching(pipeline: Pipeline, repository: str | None, branch: str | None) -> list[dict]:
    """The pipeline's CodeCommit source actions on this repository's branch."""
    return [
        action
        for action in pipeline.declaration["stages"][0]["actions"]
        if action["actionTypeId"]["provider"] == "CodeCommit"
        and action["configuration"].get("RepositoryName") == repository
        and action["configuration"].get("BranchName") == branch
    ]


@runtime.settles
def start_by_rule(account: str, region: str, name: str, rule_arn: str, event: dict) -> None:
    codepipeline_lab_backends[account][region].start_by_rule(name, rule_arn, event)


@runtime.settles
def on_branch_moved(
    account: str, region: str, repository: str, branch: str, old: str | None, new: str | None
) -> None:
    if account in codepipeline_lab_backends and region in codepipeline_lab_backends[account]:
        codepipeline_lab_backends[account][region].on_branch_moved(repository, branch, new)


def action_type_list(
    owner: str | None, backend: CodePipelineLabBackend | None = None
) -> list[action_types.ActionType]:
    types = action_types.catalogue()
    if backend is not None:
        types += backend.custom_types.active()
    return [t for t in types if owner in (None, t.owner)]


def find_action_type(
    category: str,
    owner: str,
    provider: str,
    version: str,
    backend: CodePipelineLabBackend | None = None,
) -> action_types.ActionType:
    found = action_types.find(category, owner, provider, version)
    if found is None and backend is not None:
        found = backend.custom_types.find(
            {"category": category, "owner": owner, "provider": provider, "version": version}
        )
    if found is None:
        raise err.ActionTypeNotFoundException(
            f"Action type (category {category}, owner {owner}, provider {provider}, "
            f"version {version}) does not exist"
        )
    return found


codepipeline_lab_backends = BackendDict(CodePipelineLabBackend, "codepipeline")
