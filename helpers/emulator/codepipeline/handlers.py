"""The CodePipeline API operations the kit serves, replacing moto's own for these names.

Each method takes the decoded JSON request and returns the reply; `self` is moto's
CodePipelineResponse, so self.current_account and self.region say whose backend to use.
Module functions below, named <thing>_reply, shape the replies from the models' state.
"""

from __future__ import annotations

from moto.codepipeline.responses import CodePipelineResponse

from ..core import LabHandlers, compact, install_handlers, pager, with_token
from . import action_types, connection_push, models, retry, rules, runtime, webhooks
from . import exceptions as err
from .models import CodePipelineLabBackend, Pipeline, codepipeline_lab_backends
from .providers.base import Revision
from .runtime import ActionRun, Execution


def _backend(handler: LabHandlers) -> CodePipelineLabBackend:
    return codepipeline_lab_backends[handler.current_account][handler.region]


_page = pager(err.InvalidNextTokenException, "The next token is not valid")


def _job_type(backend: CodePipelineLabBackend, type_id: dict, owner: str, operation: str):
    if type_id["owner"] != owner:
        raise err.ValidationException(
            f"{operation} is valid only for action types owned by {owner}, not {type_id['owner']}"
        )
    found = action_types.find_id(type_id) or backend.custom_types.find(type_id)
    if found is None:
        raise err.ActionTypeNotFoundException(
            f"Action type (category {type_id['category']}, owner {owner}, provider "
            f"{type_id['provider']}, version {type_id['version']}) does not exist"
        )
    return found


def _batch(params: dict) -> int:
    size = params.get("maxBatchSize") or 1
    if not 1 <= size <= 100:
        raise err.ValidationException("maxBatchSize must be between 1 and 100")
    return size


class CodePipelineHandlers(LabHandlers):
    # -- definitions --------------------------------------------------------------------

    def create_pipeline(self, params: dict) -> dict:
        pipeline = _backend(self).create_pipeline(params["pipeline"], params.get("tags"))
        reply: dict[str, object] = {"pipeline": pipeline.versions[1]}
        if params.get("tags"):
            reply["tags"] = [{"key": k, "value": v} for k, v in pipeline.tags.items()]
        return reply

    def get_pipeline(self, params: dict) -> dict:
        pipeline, declaration = _backend(self).get_declaration(
            params["name"], params.get("version")
        )
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
        return with_token({"pipelines": page}, token)

    # -- executions ---------------------------------------------------------------------

    def start_pipeline_execution(self, params: dict) -> dict:
        execution = _backend(self).start_pipeline_execution(
            params["name"],
            params.get("variables"),
            params.get("clientRequestToken"),
            params.get("sourceRevisions"),
        )
        return {"pipelineExecutionId": execution.id}

    def stop_pipeline_execution(self, params: dict) -> dict:
        execution = _backend(self).stop_pipeline_execution(
            params["pipelineName"],
            params["pipelineExecutionId"],
            bool(params.get("abandon")),
            params.get("reason"),
        )
        return {"pipelineExecutionId": execution.id}

    def get_pipeline_execution(self, params: dict) -> dict:
        backend = _backend(self)
        pipeline = backend.get_pipeline(params["pipelineName"])
        with pipeline.cond:
            execution = backend.get_execution(pipeline, params["pipelineExecutionId"])
            return {"pipelineExecution": execution_detail_reply(execution)}

    def list_pipeline_executions(self, params: dict) -> dict:
        pipeline = _backend(self).get_pipeline(params["pipelineName"])
        stage = ((params.get("filter") or {}).get("succeededInStage") or {}).get("stageName")
        with pipeline.cond:
            executions = [
                e
                for e in reversed(pipeline.executions.values())
                if stage is None or e.stage_status.get(stage) == "Succeeded"
            ]
            summaries = [execution_summary_reply(e) for e in executions]
        page, token = _page(summaries, params)
        return with_token({"pipelineExecutionSummaries": page}, token)

    def get_pipeline_state(self, params: dict) -> dict:
        pipeline = _backend(self).get_pipeline(params["name"])
        with pipeline.cond:
            return pipeline_state_reply(pipeline)

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
            details = [action_execution_detail_reply(pipeline, run) for run in runs]
        page, token = _page(details, params)
        return with_token({"actionExecutionDetails": page}, token)

    def put_approval_result(self, params: dict) -> dict:
        approved_at = _backend(self).put_approval_result(
            params["pipelineName"],
            params["stageName"],
            params["actionName"],
            params["result"],
            params["token"],
        )
        return {"approvedAt": approved_at}

    def disable_stage_transition(self, params: dict) -> dict:
        _backend(self).set_transition(
            params["pipelineName"],
            params["stageName"],
            params["transitionType"],
            False,
            params["reason"],
        )
        return {}

    def enable_stage_transition(self, params: dict) -> dict:
        _backend(self).set_transition(
            params["pipelineName"], params["stageName"], params["transitionType"], True, None
        )
        return {}

    # -- retry, rollback, conditions, revisions -------------------------------------------

    def retry_stage_execution(self, params: dict) -> dict:
        execution = retry.retry_stage_execution(
            _backend(self),
            params["pipelineName"],
            params["stageName"],
            params["pipelineExecutionId"],
            params["retryMode"],
        )
        return {"pipelineExecutionId": execution.id}

    def rollback_stage(self, params: dict) -> dict:
        execution = retry.rollback_stage(
            _backend(self),
            params["pipelineName"],
            params["stageName"],
            params["targetPipelineExecutionId"],
        )
        return {"pipelineExecutionId": execution.id}

    def override_stage_condition(self, params: dict) -> dict:
        retry.override_stage_condition(
            _backend(self),
            params["pipelineName"],
            params["stageName"],
            params["pipelineExecutionId"],
            params["conditionType"],
        )
        return {}

    def put_action_revision(self, params: dict) -> dict:
        new, execution = _backend(self).put_action_revision(
            params["pipelineName"],
            params["stageName"],
            params["actionName"],
            params["actionRevision"],
        )
        return compact(
            {"newRevision": new, "pipelineExecutionId": execution.id if execution else None}
        )

    def list_rule_types(self, params: dict) -> dict:
        owner = params.get("ruleOwnerFilter")
        return {"ruleTypes": [r.describe() for r in rules.RULE_TYPES if owner in (None, "AWS")]}

    def list_rule_executions(self, params: dict) -> dict:
        backend = _backend(self)
        pipeline = backend.get_pipeline(params["pipelineName"])
        filters = params.get("filter") or {}
        execution_id = filters.get("pipelineExecutionId") or (
            filters.get("latestInPipelineExecution") or {}
        ).get("pipelineExecutionId")
        with pipeline.cond:
            if execution_id:
                executions = [backend.get_execution(pipeline, execution_id)]
            else:
                executions = list(pipeline.executions.values())
            runs = sorted(
                (r for e in executions for r in e.rule_runs), key=lambda r: r.start, reverse=True
            )
            if (filters.get("latestInPipelineExecution") or {}).get("startTimeRange") == "Latest":
                seen, latest = set(), []
                for run in runs:
                    if (run.stage, run.name) not in seen:
                        seen.add((run.stage, run.name))
                        latest.append(run)
                runs = latest
            details = [rule_execution_detail_reply(pipeline, run) for run in runs]
        page, token = _page(details, params)
        return with_token({"ruleExecutionDetails": page}, token)

    def list_deploy_action_execution_targets(self, params: dict) -> dict:
        backend = _backend(self)
        if params.get("pipelineName"):
            pipelines = [backend.get_pipeline(params["pipelineName"])]
        else:
            pipelines = list(backend.pipelines.values())
        run = None
        for pipeline in pipelines:
            with pipeline.cond:
                run = next(
                    (
                        r
                        for e in pipeline.executions.values()
                        for r in e.actions
                        if r.id == params["actionExecutionId"]
                    ),
                    None,
                )
            if run is not None:
                break
        if run is None:
            raise err.ActionExecutionNotFoundException(
                f"Action execution {params['actionExecutionId']} was not found"
            )
        targets = deploy_targets_reply(run)
        for target_filter in params.get("filters") or []:
            if target_filter.get("name") == "TARGET_STATUS":
                wanted = set(target_filter.get("values") or [])
                targets = [t for t in targets if t["status"] in wanted]
        page, token = _page(targets, params)
        return with_token({"targets": page}, token)

    # -- action types -------------------------------------------------------------------

    def list_action_types(self, params: dict) -> dict:
        types = models.action_type_list(params.get("actionOwnerFilter"), _backend(self))
        page, token = _page([t.describe() for t in types], params)
        return with_token({"actionTypes": page}, token)

    def get_action_type(self, params: dict) -> dict:
        found = models.find_action_type(
            params["category"],
            params["owner"],
            params["provider"],
            params["version"],
            _backend(self),
        )
        return {"actionType": found.declaration()}

    def create_custom_action_type(self, params: dict) -> dict:
        entry = _backend(self).custom_types.create(params)
        reply: dict[str, object] = {"actionType": entry.action_type.describe()}
        if entry.tags:
            reply["tags"] = [{"key": k, "value": v} for k, v in entry.tags.items()]
        return reply

    def delete_custom_action_type(self, params: dict) -> dict:
        _backend(self).custom_types.delete(
            params["category"], params["provider"], params["version"]
        )
        return {}

    def update_action_type(self, params: dict) -> dict:
        _backend(self).custom_types.update(params["actionType"])
        return {}

    # -- job workers (custom actions) -----------------------------------------------------

    def poll_for_jobs(self, params: dict) -> dict:
        backend = _backend(self)
        type_id = params["actionTypeId"]
        action_type = _job_type(backend, type_id, "Custom", "PollForJobs")
        query = params.get("queryParam") or {}
        queryable = [p.name for p in action_type.properties if p.queryable]
        if queryable and not query:
            raise err.ValidationException(
                f"queryParam must give the queryable property {queryable[0]} of the action type"
            )
        for key in query:
            if key not in queryable:
                raise err.ValidationException(
                    f"queryParam key {key} is not a queryable property of the action type"
                )
        found = backend.jobs.poll(type_id, _batch(params), query, third_party=False)
        return {
            "jobs": [
                {"id": j.id, "data": j.data, "nonce": j.nonce, "accountId": j.account}
                for j in found
            ]
        }

    def acknowledge_job(self, params: dict) -> dict:
        jobs = _backend(self).jobs
        return {"status": jobs.acknowledge(jobs.get(params["jobId"]), params["nonce"])}

    def get_job_details(self, params: dict) -> dict:
        job = _backend(self).jobs.get(params["jobId"])
        return {"jobDetails": {"id": job.id, "data": job.data, "accountId": job.account}}

    def put_job_success_result(self, params: dict) -> dict:
        backend = _backend(self)
        job = backend.jobs.get(params["jobId"])
        backend.jobs.succeed(job, params)
        return {}

    def put_job_failure_result(self, params: dict) -> dict:
        backend = _backend(self)
        job = backend.jobs.get(params["jobId"])
        backend.jobs.fail(job, params["failureDetails"])
        return {}

    # -- third-party jobs (ThirdParty actions) --------------------------------------------

    def poll_for_third_party_jobs(self, params: dict) -> dict:
        backend = _backend(self)
        _job_type(backend, params["actionTypeId"], "ThirdParty", "PollForThirdPartyJobs")
        found = backend.jobs.poll(params["actionTypeId"], _batch(params), None, third_party=True)
        return {"jobs": [{"clientId": j.client_id, "jobId": j.id} for j in found]}

    def get_third_party_job_details(self, params: dict) -> dict:
        job = _backend(self).jobs.get_third_party(params["jobId"], params["clientToken"])
        return {"jobDetails": {"id": job.id, "data": job.data, "nonce": job.nonce}}

    def acknowledge_third_party_job(self, params: dict) -> dict:
        jobs = _backend(self).jobs
        job = jobs.get_third_party(params["jobId"], params["clientToken"])
        return {"status": jobs.acknowledge(job, params["nonce"])}

    def put_third_party_job_success_result(self, params: dict) -> dict:
        backend = _backend(self)
        job = backend.jobs.get_third_party(params["jobId"], params["clientToken"])
        backend.jobs.succeed(job, params)
        return {}

    def put_third_party_job_failure_result(self, params: dict) -> dict:
        backend = _backend(self)
        job = backend.jobs.get_third_party(params["jobId"], params["clientToken"])
        backend.jobs.fail(job, params["failureDetails"])
        return {}

    # -- webhooks ---------------------------------------------------------------------------

    def put_webhook(self, params: dict) -> dict:
        backend = _backend(self)
        definition = params["webhook"]
        pipeline = backend.get_pipeline(definition["targetPipeline"])
        host = (getattr(self, "headers", None) or {}).get("Host") or ""
        base_url = None if not host or "amazonaws.com" in host else f"http://{host}"
        webhook = backend.webhooks.put(
            definition, params.get("tags"), pipeline.declaration, base_url
        )
        return {"webhook": webhook.describe()}

    def list_webhooks(self, params: dict) -> dict:
        backend = _backend(self)
        items = [
            w.describe()
            for w in sorted(backend.webhooks.items.values(), key=lambda w: w.definition["name"])
        ]
        page, token = _page(items, params, token_key="NextToken", size_key="MaxResults")
        return with_token({"webhooks": page}, token, key="NextToken")

    def delete_webhook(self, params: dict) -> dict:
        _backend(self).webhooks.delete(params["name"])
        return {}

    def register_webhook_with_third_party(self, params: dict) -> dict:
        # AWS configures the webhook in GitHub; offline the registration is only recorded.
        _backend(self).webhooks.get(params.get("webhookName")).registered = True
        return {}

    def deregister_webhook_with_third_party(self, params: dict) -> dict:
        _backend(self).webhooks.get(params.get("webhookName")).registered = False
        return {}

    # -- tags -----------------------------------------------------------------------------

    def tag_resource(self, params: dict) -> dict:
        _backend(self).tag(params["resourceArn"], params["tags"])
        return {}

    def untag_resource(self, params: dict) -> dict:
        _backend(self).untag(params["resourceArn"], params["tagKeys"])
        return {}

    def list_tags_for_resource(self, params: dict) -> dict:
        pipeline = _backend(self).taggable_by_arn(params["resourceArn"])
        tags = [{"key": k, "value": v} for k, v in pipeline.tags.items()]
        page, token = _page(tags, params)
        return with_token({"tags": page}, token)


# -- reply shapes (callers hold the pipeline's condition) ------------------------------


def _trigger(execution: Execution) -> dict:
    return dict(execution.trigger)


def _source_revisions(execution: Execution) -> list[tuple[ActionRun, Revision]]:
    """The source actions of the execution that recorded a revision, with it."""
    return [(run, run.revision) for run in execution.actions if run.revision is not None]


def execution_detail_reply(execution: Execution) -> dict:
    revisions = []
    for run, revision in _source_revisions(execution):
        for name in run.outputs:
            revisions.append(
                compact(
                    {
                        "name": name,
                        "revisionId": revision.revision_id,
                        "revisionChangeIdentifier": revision.change_id,
                        "revisionSummary": revision.summary,
                        "created": revision.created,
                        "revisionUrl": revision.url,
                    }
                )
            )
    return compact(
        {
            "pipelineName": execution.pipeline.name,
            "pipelineVersion": execution.version,
            "pipelineExecutionId": execution.id,
            "status": execution.status,
            "statusSummary": execution.status_summary,
            "artifactRevisions": revisions,
            "variables": [{"name": k, "resolvedValue": v} for k, v in execution.variables.items()],
            "trigger": _trigger(execution),
            "executionMode": execution.mode,
            "executionType": execution.execution_type,
            "rollbackMetadata": _rollback_metadata(execution),
        }
    )


def _rollback_metadata(execution: Execution) -> dict | None:
    if execution.rollback_target is None:
        return None
    return {"rollbackTargetPipelineExecutionId": execution.rollback_target}


def execution_summary_reply(execution: Execution) -> dict:
    reply = compact(
        {
            "pipelineExecutionId": execution.id,
            "status": execution.status,
            "statusSummary": execution.status_summary,
            "startTime": execution.start,
            "lastUpdateTime": execution.last_update,
            "sourceRevisions": [
                compact(
                    {
                        "actionName": run.name,
                        "revisionId": revision.revision_id,
                        "revisionSummary": revision.summary,
                        "revisionUrl": revision.url,
                    }
                )
                for run, revision in _source_revisions(execution)
            ],
            "trigger": _trigger(execution),
            "executionMode": execution.mode,
            "executionType": execution.execution_type,
            "rollbackMetadata": _rollback_metadata(execution),
        }
    )
    if execution.stop_requested:
        reply["stopTrigger"] = compact({"reason": execution.stop_reason})
    return reply


def _stage_execution(execution: Execution, status: str) -> dict:
    return {"pipelineExecutionId": execution.id, "status": status, "type": execution.execution_type}


def _entity_url(action: dict, region: str, account: str | None = None) -> str | None:
    action_type = action_types.find_id(action["actionTypeId"], account, region)
    if action_type is None or not action_type.entity_url:
        return None
    return action_types.fill_url(action_type.entity_url, action.get("configuration") or {}, region)


def action_latest_execution_reply(run: ActionRun) -> dict:
    return compact(
        {
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
            "logStreamARN": run.log_stream_arn,
        }
    )


def pipeline_state_reply(pipeline: Pipeline) -> dict:
    stages = []
    for stage in pipeline.declaration["stages"]:
        name = stage["name"]
        gate = pipeline.gate(name)
        transition = {"enabled": gate.enabled}
        if gate.changed_at is not None:
            transition.update(
                compact(
                    {
                        "lastChangedBy": gate.changed_by,
                        "lastChangedAt": gate.changed_at,
                        "disabledReason": gate.disabled_reason,
                    }
                )
            )
        actions = []
        for action in stage["actions"]:
            run = pipeline.action_latest.get((name, action["name"]))
            state = compact(
                {
                    "actionName": action["name"],
                    "entityUrl": _entity_url(action, pipeline.region, pipeline.account),
                }
            )
            if run is not None:
                state["latestExecution"] = action_latest_execution_reply(run)
                if run.revision is not None:
                    state["currentRevision"] = {
                        "revisionId": run.revision.revision_id,
                        "revisionChangeId": run.revision.change_id,
                        "created": run.revision.created,
                    }
                    if run.revision.url:
                        state["revisionUrl"] = run.revision.url
            actions.append(state)
        state = {"stageName": name, "inboundTransitionState": transition, "actionStates": actions}
        latest = pipeline.stage_latest.get(name)
        if latest is not None and name in latest.stage_status:
            state["latestExecution"] = _stage_execution(latest, latest.stage_status[name])
        if latest is not None:
            for kind in ("beforeEntry", "onSuccess", "onFailure"):
                record = latest.conditions.get((name, kind))
                if record is not None:
                    state[f"{kind}ConditionState"] = condition_state_reply(record)
            retries = latest.retries.get(name)
            if retries:
                state["retryStageMetadata"] = compact(
                    {
                        "autoStageRetryAttempt": retries["auto"] or None,  # the shape's min is 1
                        "manualStageRetryAttempt": retries["manual"] or None,
                        "latestRetryTrigger": retries.get("latest"),
                    }
                )
        waiting = [e for e in gate.waiting if not e.final]
        if waiting:
            state["inboundExecution"] = _stage_execution(waiting[-1], "InProgress")
            state["inboundExecutions"] = [_stage_execution(e, "InProgress") for e in waiting]
        stages.append(state)
    return {
        "pipelineName": pipeline.name,
        "pipelineVersion": pipeline.version,
        "stageStates": stages,
        "created": pipeline.created,
        "updated": pipeline.updated,
    }


def condition_state_reply(record) -> dict:
    states = []
    for status, runs in record.results:
        states.append(
            {
                "latestExecution": {
                    "status": "Overridden" if record.overridden else status,
                    "lastStatusChange": record.changed,
                },
                "ruleStates": [
                    {
                        "ruleName": run.name,
                        "latestExecution": compact(
                            {
                                "ruleExecutionId": run.id,
                                "status": run.status,
                                "summary": run.summary,
                                "lastStatusChange": run.last_update,
                                "errorDetails": run.error,
                            }
                        ),
                    }
                    for run in runs
                ],
            }
        )
    return {
        "latestExecution": compact({"status": record.status, "summary": record.summary}),
        "conditionStates": states,
    }


def rule_execution_detail_reply(pipeline: Pipeline, run) -> dict:
    rule = run.declaration
    execution = run.execution
    type_id = {"category": "Rule", "owner": "AWS", "version": "1", **rule["ruleTypeId"]}
    return compact(
        {
            "pipelineExecutionId": execution.id,
            "ruleExecutionId": run.id,
            "pipelineVersion": execution.version,
            "stageName": run.stage,
            "ruleName": run.name,
            "startTime": run.start,
            "lastUpdateTime": run.last_update,
            "status": run.status,
            "input": compact(
                {
                    "ruleTypeId": type_id,
                    "configuration": {
                        k: str(v) for k, v in (rule.get("configuration") or {}).items()
                    },
                    "resolvedConfiguration": run.resolved_configuration,
                    "roleArn": rule.get("roleArn") or execution.declaration["roleArn"],
                    "region": rule.get("region") or pipeline.region,
                    "inputArtifacts": [
                        {"name": a["name"], "s3location": execution.artifacts[a["name"]].describe()}
                        for a in rule.get("inputArtifacts") or []
                        if a["name"] in execution.artifacts
                    ],
                }
            ),
            "output": {
                "executionResult": compact(
                    {"externalExecutionSummary": run.summary, "errorDetails": run.error}
                )
            },
        }
    )


def deploy_targets_reply(run: ActionRun) -> list[dict]:
    """The targets of the action's deployment, as ListDeployActionExecutionTargets reports
    them: what the type's runner lists (CodeDeploy's instances); other actions have none."""
    pipeline = run.execution.pipeline
    region = run.declaration.get("region") or pipeline.region
    runner = action_types.runner_for(
        run.declaration["actionTypeId"], pipeline.account, pipeline.region
    )
    if runner.targets is None or not run.external_id:
        return []
    return runner.targets(pipeline.account, region, run.external_id)


def action_execution_detail_reply(pipeline: Pipeline, run: ActionRun) -> dict:
    action = run.declaration
    execution = run.execution
    action_input = compact(
        {
            "actionTypeId": action["actionTypeId"],
            "configuration": {k: str(v) for k, v in (action.get("configuration") or {}).items()},
            "resolvedConfiguration": run.resolved_configuration,
            "roleArn": action.get("roleArn") or execution.declaration["roleArn"],
            "region": action.get("region") or pipeline.region,
            "inputArtifacts": [
                {"name": name, "s3location": location.describe()}
                for name, location in run.inputs.items()
            ],
            "namespace": action.get("namespace"),
        }
    )
    result = compact(
        {
            "externalExecutionId": run.external_id,
            "externalExecutionSummary": run.summary,
            "externalExecutionUrl": run.external_url,
            "errorDetails": run.error,
            "logStreamARN": run.log_stream_arn,
        }
    )
    output = {
        "outputArtifacts": [
            {"name": name, "s3location": location.describe()}
            for name, location in run.outputs.items()
        ]
        if run.status == "Succeeded"
        else [],
        "executionResult": result,
        "outputVariables": dict(run.output_variables),
    }
    return compact(
        {
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
        }
    )


def settle(handler: LabHandlers) -> None:
    """After each operation in synchronous mode (tests), given the operation's response object
    (moto's BaseResponse, which has what LabHandlers declares): return once the work it started or
    unblocked has ended or waits for something only a later call can give."""
    runtime.settle_unfinished(_backend(handler).pipelines.values())


def install() -> None:
    install_handlers("codepipeline", CodePipelineResponse, CodePipelineHandlers, settle=settle)
    webhooks.install()
    from ..codecommit import models as codecommit_models

    if models.on_branch_moved not in codecommit_models.branch_listeners:
        codecommit_models.branch_listeners.append(models.on_branch_moved)
    from ..connections import git_host

    if connection_push.on_push not in git_host.push_listeners:
        git_host.push_listeners.append(connection_push.on_push)
