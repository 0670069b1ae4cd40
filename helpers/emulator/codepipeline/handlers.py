"""The CodePipeline API operations the kit serves, replacing moto's own for these names.

Each method takes the decoded JSON request and returns the reply; `self` is moto's
CodePipelineResponse, so self.current_account and self.region say whose backend to use.
Module functions below shape the replies from the models' state.
"""

from __future__ import annotations

import re

from moto.codepipeline.responses import CodePipelineResponse

from ..core import InvalidNextTokenError, install_handlers, paginate
from . import action_types, models
from . import exceptions as err
from .engine import ActionRun, Execution
from .models import CodePipelineLabBackend, Pipeline, codepipeline_lab_backends


def _backend(handler) -> CodePipelineLabBackend:
    return codepipeline_lab_backends[handler.current_account][handler.region]


def _page(items: list, params: dict, default_size: int = 100) -> tuple[list, str | None]:
    try:
        return paginate(items, params, default_size=default_size)
    except InvalidNextTokenError:
        raise err.InvalidNextTokenException("The next token is not valid") from None


def _with_token(reply: dict, token: str | None) -> dict:
    if token:
        reply["nextToken"] = token
    return reply


def _compact(values: dict) -> dict:
    return {key: value for key, value in values.items() if value is not None}


class CodePipelineHandlers:
    # -- definitions --------------------------------------------------------------------

    def create_pipeline(self, params: dict) -> dict:
        pipeline = _backend(self).create_pipeline(params["pipeline"], params.get("tags"))
        reply = {"pipeline": pipeline.versions[1]}
        if params.get("tags"):
            reply["tags"] = [{"key": k, "value": v} for k, v in pipeline.tags.items()]
        return reply

    def get_pipeline(self, params: dict) -> dict:
        pipeline, declaration = _backend(self).get_declaration(params["name"],
                                                               params.get("version"))
        return {"pipeline": declaration, "metadata": pipeline.metadata()}

    def update_pipeline(self, params: dict) -> dict:
        pipeline = _backend(self).update_pipeline(params["pipeline"])
        return {"pipeline": pipeline.declaration}

    def delete_pipeline(self, params: dict) -> dict:
        _backend(self).delete_pipeline(params["name"])
        return {}

    def list_pipelines(self, params: dict) -> dict:
        max_results = params.get("maxResults")
        if max_results is not None and not 1 <= max_results <= 1000:
            raise err.ValidationException("maxResults must be between 1 and 1000")
        pipelines = sorted(_backend(self).pipelines.values(), key=lambda p: p.name)
        page, token = _page([p.summary() for p in pipelines], params)
        return _with_token({"pipelines": page}, token)

    # -- executions ---------------------------------------------------------------------

    def start_pipeline_execution(self, params: dict) -> dict:
        execution = _backend(self).start_pipeline_execution(
            params["name"], params.get("variables"), params.get("clientRequestToken"),
            params.get("sourceRevisions"))
        return {"pipelineExecutionId": execution.id}

    def stop_pipeline_execution(self, params: dict) -> dict:
        execution = _backend(self).stop_pipeline_execution(
            params["pipelineName"], params["pipelineExecutionId"],
            bool(params.get("abandon")), params.get("reason"))
        return {"pipelineExecutionId": execution.id}

    def get_pipeline_execution(self, params: dict) -> dict:
        backend = _backend(self)
        pipeline = backend.get_pipeline(params["pipelineName"])
        with pipeline.cond:
            execution = backend.get_execution(pipeline, params["pipelineExecutionId"])
            return {"pipelineExecution": execution_detail(execution)}

    def list_pipeline_executions(self, params: dict) -> dict:
        pipeline = _backend(self).get_pipeline(params["pipelineName"])
        stage = ((params.get("filter") or {}).get("succeededInStage") or {}).get("stageName")
        with pipeline.cond:
            executions = [e for e in reversed(pipeline.executions.values())
                          if stage is None or e.stage_status.get(stage) == "Succeeded"]
            summaries = [execution_summary(e) for e in executions]
        page, token = _page(summaries, params)
        return _with_token({"pipelineExecutionSummaries": page}, token)

    def get_pipeline_state(self, params: dict) -> dict:
        pipeline = _backend(self).get_pipeline(params["name"])
        with pipeline.cond:
            return pipeline_state(pipeline)

    def list_action_executions(self, params: dict) -> dict:
        backend = _backend(self)
        pipeline = backend.get_pipeline(params["pipelineName"])
        execution_id = (params.get("filter") or {}).get("pipelineExecutionId")
        latest = (params.get("filter") or {}).get("latestInPipelineExecution")
        with pipeline.cond:
            if execution_id:
                executions = [backend.get_execution(pipeline, execution_id)]
            elif latest:
                executions = [backend.get_execution(pipeline, latest["pipelineExecutionId"])]
            else:
                executions = list(pipeline.executions.values())
            runs = [run for e in executions for run in e.actions]
            runs.sort(key=lambda r: r.start, reverse=True)
            details = [action_execution_detail(pipeline, run) for run in runs]
        page, token = _page(details, params)
        return _with_token({"actionExecutionDetails": page}, token)

    def put_approval_result(self, params: dict) -> dict:
        approved_at = _backend(self).put_approval_result(
            params["pipelineName"], params["stageName"], params["actionName"],
            params["result"], params["token"])
        return {"approvedAt": approved_at}

    def disable_stage_transition(self, params: dict) -> dict:
        _backend(self).set_transition(params["pipelineName"], params["stageName"],
                                      params["transitionType"], False, params["reason"])
        return {}

    def enable_stage_transition(self, params: dict) -> dict:
        _backend(self).set_transition(params["pipelineName"], params["stageName"],
                                      params["transitionType"], True, None)
        return {}

    # -- action types -------------------------------------------------------------------

    def list_action_types(self, params: dict) -> dict:
        types = models.action_type_list(params.get("actionOwnerFilter"))
        page, token = _page([t.describe() for t in types], params)
        return _with_token({"actionTypes": page}, token)

    def get_action_type(self, params: dict) -> dict:
        found = models.find_action_type(params["category"], params["owner"],
                                        params["provider"], params["version"])
        return {"actionType": found.declaration()}

    # -- tags -----------------------------------------------------------------------------

    def tag_resource(self, params: dict) -> dict:
        _backend(self).tag(params["resourceArn"], params["tags"])
        return {}

    def untag_resource(self, params: dict) -> dict:
        _backend(self).untag(params["resourceArn"], params["tagKeys"])
        return {}

    def list_tags_for_resource(self, params: dict) -> dict:
        pipeline = _backend(self).pipeline_by_arn(params["resourceArn"])
        tags = [{"key": k, "value": v} for k, v in pipeline.tags.items()]
        page, token = _page(tags, params)
        return _with_token({"tags": page}, token)


# -- reply shapes (callers hold the pipeline's condition) ------------------------------


def _trigger(execution: Execution) -> dict:
    return dict(execution.trigger)


def _source_runs(execution: Execution) -> list[ActionRun]:
    return [run for run in execution.actions if run.revision is not None]


def execution_detail(execution: Execution) -> dict:
    revisions = []
    for run in _source_runs(execution):
        for name in run.outputs:
            revision = run.revision
            revisions.append(_compact({
                "name": name, "revisionId": revision.revision_id,
                "revisionChangeIdentifier": revision.change_id,
                "revisionSummary": revision.summary, "created": revision.created,
                "revisionUrl": revision.url}))
    return _compact({
        "pipelineName": execution.pipeline.name,
        "pipelineVersion": execution.version,
        "pipelineExecutionId": execution.id,
        "status": execution.status,
        "statusSummary": execution.status_summary,
        "artifactRevisions": revisions,
        "variables": [{"name": k, "resolvedValue": v} for k, v in execution.variables.items()],
        "trigger": _trigger(execution),
        "executionMode": execution.mode,
        "executionType": "STANDARD",
    })


def execution_summary(execution: Execution) -> dict:
    reply = _compact({
        "pipelineExecutionId": execution.id,
        "status": execution.status,
        "statusSummary": execution.status_summary,
        "startTime": execution.start,
        "lastUpdateTime": execution.last_update,
        "sourceRevisions": [_compact({
            "actionName": run.name, "revisionId": run.revision.revision_id,
            "revisionSummary": run.revision.summary, "revisionUrl": run.revision.url})
            for run in _source_runs(execution)],
        "trigger": _trigger(execution),
        "executionMode": execution.mode,
        "executionType": "STANDARD",
    })
    if execution.stop_requested:
        reply["stopTrigger"] = _compact({"reason": execution.stop_reason})
    return reply


def _stage_execution(execution: Execution, status: str) -> dict:
    return {"pipelineExecutionId": execution.id, "status": status, "type": "STANDARD"}


_TEMPLATE = re.compile(r"\{Config:([A-Za-z0-9]+)\}")


def _entity_url(action: dict, region: str) -> str | None:
    action_type = action_types.find_id(action["actionTypeId"])
    if action_type is None or not action_type.entity_url:
        return None
    configuration = action.get("configuration") or {}
    url = _TEMPLATE.sub(lambda m: str(configuration.get(m.group(1), "")),
                        action_type.entity_url)
    return url.replace("/home#", f"/home?region={region}#").replace("/home?#", f"/home?region"
                                                                                f"={region}#")


def action_latest_execution(run: ActionRun) -> dict:
    return _compact({
        "actionExecutionId": run.id,
        "status": run.status,
        "summary": run.summary,
        "lastStatusChange": run.last_update,
        "token": run.approval.token if run.approval is not None else None,
        "lastUpdatedBy": run.updated_by,
        "externalExecutionId": run.external_id,
        "externalExecutionUrl": run.external_url,
        "percentComplete": run.percent,
        "errorDetails": run.error,
    })


def pipeline_state(pipeline: Pipeline) -> dict:
    stages = []
    for stage in pipeline.declaration["stages"]:
        name = stage["name"]
        gate = pipeline.gate(name)
        transition = {"enabled": gate.enabled}
        if gate.changed_at is not None:
            transition.update(_compact({"lastChangedBy": gate.changed_by,
                                        "lastChangedAt": gate.changed_at,
                                        "disabledReason": gate.disabled_reason}))
        actions = []
        for action in stage["actions"]:
            run = pipeline.action_latest.get((name, action["name"]))
            state = _compact({"actionName": action["name"],
                              "entityUrl": _entity_url(action, pipeline.region)})
            if run is not None:
                state["latestExecution"] = action_latest_execution(run)
                if run.revision is not None:
                    state["currentRevision"] = {"revisionId": run.revision.revision_id,
                                                "revisionChangeId": run.revision.change_id,
                                                "created": run.revision.created}
                    if run.revision.url:
                        state["revisionUrl"] = run.revision.url
            actions.append(state)
        state = {"stageName": name, "inboundTransitionState": transition,
                 "actionStates": actions}
        latest = pipeline.stage_latest.get(name)
        if latest is not None and name in latest.stage_status:
            state["latestExecution"] = _stage_execution(latest, latest.stage_status[name])
        waiting = [e for e in gate.waiting if not e.final]
        if waiting:
            state["inboundExecution"] = _stage_execution(waiting[-1], "InProgress")
            state["inboundExecutions"] = [_stage_execution(e, "InProgress") for e in waiting]
        stages.append(state)
    return {"pipelineName": pipeline.name, "pipelineVersion": pipeline.version,
            "stageStates": stages, "created": pipeline.created, "updated": pipeline.updated}


def action_execution_detail(pipeline: Pipeline, run: ActionRun) -> dict:
    action = run.declaration
    execution = run.execution
    action_input = _compact({
        "actionTypeId": action["actionTypeId"],
        "configuration": {k: str(v) for k, v in (action.get("configuration") or {}).items()},
        "resolvedConfiguration": run.resolved_configuration,
        "roleArn": action.get("roleArn") or execution.declaration["roleArn"],
        "region": action.get("region") or pipeline.region,
        "inputArtifacts": [{"name": name, "s3location": location.describe()}
                           for name, location in run.inputs.items()],
        "namespace": action.get("namespace"),
    })
    result = _compact({"externalExecutionId": run.external_id,
                       "externalExecutionSummary": run.summary,
                       "externalExecutionUrl": run.external_url,
                       "errorDetails": run.error})
    output = {"outputArtifacts": [{"name": name, "s3location": location.describe()}
                                  for name, location in run.outputs.items()]
              if run.status == "Succeeded" else [],
              "executionResult": result,
              "outputVariables": dict(run.output_variables)}
    return _compact({
        "pipelineExecutionId": execution.id,
        "actionExecutionId": run.id,
        "pipelineVersion": execution.version,
        "stageName": run.stage,
        "actionName": run.name,
        "startTime": run.start,
        "lastUpdateTime": run.last_update,
        "updatedBy": run.updated_by,
        "status": run.status,
        "input": action_input,
        "output": output,
    })


def install() -> None:
    install_handlers("codepipeline", CodePipelineResponse, CodePipelineHandlers)
    from ..codecommit import models as codecommit_models

    if models.on_branch_moved not in codecommit_models.branch_listeners:
        codecommit_models.branch_listeners.append(models.on_branch_moved)
