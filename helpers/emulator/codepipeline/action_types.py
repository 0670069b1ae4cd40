"""The action types: what ListActionTypes/GetActionType report and what a pipeline
definition is checked against (configuration keys, artifact counts).

The catalogue every account sees (seeded from AWS_ACTION_TYPES; register() adds a type):
the AWS-owned types and two ThirdParty ones (GitHub version 1, the legacy OAuth source, and
LabPartner, the kit's stand-in for a partner integration such as a test service). Actions
of ThirdParty types run as third-party jobs (PollForThirdPartyJobs...) offline: whoever
plays the partner answers them. Custom types (CreateCustomActionType) belong to an account
and region; they live in its backend (custom_actions.py) and find_id looks there when given
account and region.

This is the one place that registers a provider: a type's `runner` (providers/base.Runner)
is what runs it offline, and everything else (the runtime, validation, the "cannot run"
message, the view's panels, deploy targets) reads it from here. A definition may use any
type listed here, but an action of a type without a runner fails when it is reached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .providers import (
    approval,
    cloudformation,
    codebuild,
    codecommit,
    codedeploy,
    codestar_connection,
    commands,
    job_worker,
    lambda_invoke,
    s3_deploy,
    s3_source,
)
from .providers.base import ActionContext, ActionFailed, Runner

CONSOLE = "https://console.aws.amazon.com"


@dataclass(frozen=True)
class Property:
    name: str
    required: bool = False
    key: bool = False
    secret: bool = False
    queryable: bool = False
    description: str = ""
    type: str = "String"

    def describe(self) -> dict:
        reply = {
            "name": self.name,
            "required": self.required,
            "key": self.key,
            "secret": self.secret,
            "queryable": self.queryable,
            "type": self.type,
        }
        if self.description:
            reply["description"] = self.description
        return reply


@dataclass(frozen=True)
class ActionType:
    category: str
    provider: str
    properties: tuple[Property, ...]
    inputs: tuple[int, int]  # (minimum, maximum) input artifacts
    outputs: tuple[int, int]
    entity_url: str | None = None
    execution_url: str | None = None
    revision_url: str | None = None
    runner: Runner | None = None  # what runs it offline; None: the kit cannot
    owner: str = "AWS"
    version: str = "1"
    timeout_minutes: int = 60  # AWS's default action timeout
    description: str = ""
    configuration_url: str | None = None  # settings.thirdPartyConfigurationUrl
    job_timeout: int | None = None  # seconds, per job (UpdateActionType executor.jobTimeout)

    @property
    def id(self) -> dict:
        return {
            "category": self.category,
            "owner": self.owner,
            "provider": self.provider,
            "version": self.version,
        }

    def property(self, name: str) -> Property | None:
        return next((p for p in self.properties if p.name == name), None)

    def describe(self) -> dict:
        """An ActionType of ListActionTypes."""
        settings = {
            key: value
            for key, value in (
                ("thirdPartyConfigurationUrl", self.configuration_url),
                ("entityUrlTemplate", self.entity_url),
                ("executionUrlTemplate", self.execution_url),
                ("revisionUrlTemplate", self.revision_url),
            )
            if value
        }
        return {
            "id": self.id,
            "settings": settings,
            "actionConfigurationProperties": [p.describe() for p in self.properties],
            "inputArtifactDetails": {
                "minimumCount": self.inputs[0],
                "maximumCount": self.inputs[1],
            },
            "outputArtifactDetails": {
                "minimumCount": self.outputs[0],
                "maximumCount": self.outputs[1],
            },
        }

    def declaration(self) -> dict:
        """An ActionTypeDeclaration of GetActionType."""
        urls = {
            key: value
            for key, value in (
                ("configurationUrl", self.configuration_url),
                ("entityUrlTemplate", self.entity_url),
                ("executionUrlTemplate", self.execution_url),
                ("revisionUrlTemplate", self.revision_url),
            )
            if value
        }
        worker = (
            {"pollingServicePrincipals": ["codepipeline.amazonaws.com"]}
            if self.owner == "AWS"
            else {}
        )
        reply = {
            "executor": {
                "configuration": {"jobWorkerExecutorConfiguration": worker},
                "type": "JobWorker",
                "jobTimeout": min(self.job_timeout or self.timeout_minutes * 60, 43200),
            },
            "id": self.id,
            "inputArtifactDetails": {
                "minimumCount": self.inputs[0],
                "maximumCount": self.inputs[1],
            },
            "outputArtifactDetails": {
                "minimumCount": self.outputs[0],
                "maximumCount": self.outputs[1],
            },
            "properties": [
                {
                    "name": p.name,
                    "optional": not p.required,
                    "key": p.key,
                    "noEcho": p.secret,
                    "queryable": p.queryable,
                    **({"description": p.description} if p.description else {}),
                }
                for p in self.properties
            ],
        }
        if self.description:
            reply["description"] = self.description
        if urls:
            reply["urls"] = urls
        return reply


def config_property(
    name: str,
    required: bool = False,
    key: bool = False,
    description: str = "",
    type: str = "String",
) -> Property:
    """A configuration property that is neither secret nor queryable (the AWS-owned action
    types' and the rule types' ones)."""
    return Property(name, required, key, False, False, description, type)


_p = config_property  # short, for the tables below


POLL = _p(
    "PollForSourceChanges", description="Whether CodePipeline polls for changes", type="Boolean"
)
HOURS = 60
DAYS = 24 * HOURS

AWS_ACTION_TYPES: tuple[ActionType, ...] = (
    ActionType(
        "Source",
        "CodeCommit",
        (
            _p("RepositoryName", True, True, "The name of the CodeCommit repository"),
            _p("BranchName", True, True, "The branch whose changes start the pipeline"),
            POLL,
            _p("OutputArtifactFormat", description="CODE_ZIP (default) or CODEBUILD_CLONE_REF"),
        ),
        (0, 0),
        (1, 1),
        entity_url=CONSOLE + "/codecommit/home#/repository/{Config:RepositoryName}"
        "/browse/{Config:BranchName}/--/",
        revision_url=CONSOLE + "/codecommit/home#/repository/{Config:RepositoryName}"
        "/commit/{RevisionId}",
        runner=codecommit.RUNNER,
    ),
    ActionType(
        "Source",
        "S3",
        (
            _p("S3Bucket", True, True, "The versioned bucket holding the source zip"),
            _p("S3ObjectKey", True, True, "The key of the source zip"),
            POLL,
            _p("AllowOverrideForS3ObjectKey", type="Boolean"),
        ),
        (0, 0),
        (1, 1),
        entity_url=CONSOLE + "/s3/home?#/{Config:S3Bucket}",
        runner=s3_source.RUNNER,
    ),
    ActionType(
        "Source",
        "ECR",
        (
            _p("RepositoryName", True, True),
            _p("ImageTag"),
        ),
        (0, 0),
        (1, 1),
    ),
    ActionType(
        "Source",
        "CodeStarSourceConnection",
        (
            _p("ConnectionArn", True, True, "The connection (AVAILABLE) to the provider"),
            _p("FullRepositoryId", True, True, "The repository, as owner/name"),
            _p("BranchName", True, True, "The branch whose changes start the pipeline"),
            _p("OutputArtifactFormat", description="CODE_ZIP (default) or CODEBUILD_CLONE_REF"),
            _p("DetectChanges", type="Boolean", description="Start on new commits (default)"),
        ),
        (0, 0),
        (1, 1),
        runner=codestar_connection.RUNNER,
    ),
    ActionType(
        "Build",
        "CodeBuild",
        (
            _p("ProjectName", True, True, "The CodeBuild project to run"),
            _p("PrimarySource", description="The input artifact that is the primary source"),
            _p("BatchEnabled", type="Boolean"),
            _p("CombineArtifacts", type="Boolean"),
            _p("EnvironmentVariables", description="JSON list of {name, value, type}"),
        ),
        (1, 5),
        (0, 5),
        entity_url=CONSOLE + "/codebuild/home#/projects/{Config:ProjectName}/view",
        execution_url=CONSOLE + "/codebuild/home#/builds/{ExternalExecutionId}/view/new",
        runner=codebuild.RUNNER,
        timeout_minutes=8 * HOURS,
    ),
    ActionType(
        "Test",
        "CodeBuild",
        (
            _p("ProjectName", True, True, "The CodeBuild project to run"),
            _p("PrimarySource"),
            _p("BatchEnabled", type="Boolean"),
            _p("CombineArtifacts", type="Boolean"),
            _p("EnvironmentVariables"),
        ),
        (1, 5),
        (0, 5),
        entity_url=CONSOLE + "/codebuild/home#/projects/{Config:ProjectName}/view",
        execution_url=CONSOLE + "/codebuild/home#/builds/{ExternalExecutionId}/view/new",
        runner=codebuild.RUNNER,
        timeout_minutes=8 * HOURS,
    ),
    # Its commands, outputVariables and environmentVariables are ActionDeclaration
    # members, not configuration (action-reference-Commands.md); V2 pipelines only.
    ActionType(
        "Compute",
        "Commands",
        (),
        (1, 10),
        (0, 1),
        runner=commands.RUNNER,
    ),
    ActionType(
        "Test",
        "DeviceFarm",
        (
            _p("ProjectId", True, True),
            _p("DevicePoolArn", True),
            _p("AppType", True),
            _p("App"),
            _p("TestType", True),
            _p("Test"),
        ),
        (1, 1),
        (0, 0),
    ),
    ActionType(
        "Deploy",
        "CodeDeploy",
        (
            _p("ApplicationName", True, True, "The CodeDeploy application"),
            _p("DeploymentGroupName", True, True, "The deployment group to deploy to"),
        ),
        (1, 1),
        (0, 0),
        entity_url=CONSOLE + "/codedeploy/home#/applications/{Config:ApplicationName}"
        "/deployment-groups/{Config:DeploymentGroupName}",
        execution_url=CONSOLE + "/codedeploy/home#/deployments/{ExternalExecutionId}",
        runner=codedeploy.RUNNER,
        timeout_minutes=5 * DAYS,
    ),
    ActionType(
        "Deploy",
        "S3",
        (
            _p("BucketName", True, True, "The bucket to deploy to"),
            _p(
                "Extract",
                True,
                description="true: unzip the artifact into the bucket",
                type="Boolean",
            ),
            _p("ObjectKey", description="The key (Extract false) or the folder (Extract true)"),
            _p("KMSEncryptionKeyARN"),
            _p("CannedACL"),
            _p("CacheControl"),
        ),
        (1, 1),
        (0, 0),
        entity_url=CONSOLE + "/s3/home?#/{Config:BucketName}",
        runner=s3_deploy.RUNNER,
    ),
    ActionType(
        "Deploy",
        "CloudFormation",
        (
            _p(
                "ActionMode",
                True,
                description="CREATE_UPDATE, REPLACE_ON_FAILURE, "
                "DELETE_ONLY, CHANGE_SET_REPLACE or CHANGE_SET_EXECUTE",
            ),
            _p("StackName", True, True, "The stack to create, update or delete"),
            _p("Capabilities", description="CAPABILITY_IAM,CAPABILITY_NAMED_IAM,..."),
            _p("ChangeSetName", description="The change set (change set modes)"),
            _p("OutputFileName", description="The stack outputs' JSON file in the output"),
            _p("ParameterOverrides", description="JSON object of template parameters"),
            _p("RoleArn", description="The role CloudFormation uses for the stack"),
            _p(
                "TemplateConfiguration",
                description="Artifact::file with Parameters, Tags, StackPolicy",
            ),
            _p("TemplatePath", description="Artifact::file of the template"),
        ),
        (0, 10),
        (0, 1),
        execution_url=CONSOLE + "/cloudformation/home#/stacks/events?stackId={ExternalExecutionId}",
        runner=cloudformation.RUNNER,
    ),
    ActionType(
        "Deploy",
        "CloudFormationStackSet",
        (
            _p("StackSetName", True, True),
            _p("TemplatePath", True),
            _p("DeploymentTargets"),
            _p("Regions"),
            _p("Parameters"),
            _p("Capabilities"),
            _p("Description"),
            _p("AdministrationRoleArn"),
            _p("ExecutionRoleName"),
            _p("PermissionModel"),
        ),
        (1, 10),
        (0, 0),
    ),
    ActionType(
        "Deploy",
        "ECS",
        (
            _p("ClusterName", True, True),
            _p("ServiceName", True, True),
            _p("FileName"),
            _p("DeploymentTimeout", type="Number"),
        ),
        (1, 1),
        (0, 0),
    ),
    ActionType(
        "Deploy",
        "CodeDeployToECS",
        (
            _p("ApplicationName", True, True),
            _p("DeploymentGroupName", True, True),
            _p("TaskDefinitionTemplateArtifact", True),
            _p("AppSpecTemplateArtifact", True),
            _p("TaskDefinitionTemplatePath"),
            _p("AppSpecTemplatePath"),
            _p("Image1ArtifactName"),
            _p("Image1ContainerName"),
        ),
        (1, 5),
        (0, 0),
    ),
    ActionType(
        "Deploy",
        "ElasticBeanstalk",
        (
            _p("ApplicationName", True, True),
            _p("EnvironmentName", True, True),
        ),
        (1, 1),
        (0, 0),
    ),
    ActionType(
        "Deploy",
        "AppConfig",
        (
            _p("Application", True, True),
            _p("Environment", True),
            _p("ConfigurationProfile", True),
            _p("InputArtifactConfigurationPath", True),
            _p("DeploymentStrategy", True),
        ),
        (1, 1),
        (0, 0),
    ),
    ActionType(
        "Invoke",
        "Lambda",
        (
            _p("FunctionName", True, True),
            _p("UserParameters"),
        ),
        (0, 5),
        (0, 5),
        runner=lambda_invoke.RUNNER,
    ),
    ActionType(
        "Invoke",
        "StepFunctions",
        (
            _p("StateMachineArn", True, True),
            _p("ExecutionNamePrefix"),
            _p("InputType"),
            _p("Input"),
        ),
        (0, 1),
        (0, 1),
    ),
    ActionType(
        "Approval",
        "Manual",
        (
            _p("NotificationArn", description="SNS topic told about the approval"),
            _p("CustomData", description="Text shown to the reviewer"),
            _p("ExternalEntityLink", description="A link for the reviewer"),
        ),
        (0, 0),
        (0, 0),
        runner=approval.RUNNER,
        timeout_minutes=7 * DAYS,
    ),
    # ThirdParty: run offline as third-party jobs (see the module docstring).
    ActionType(
        "Source",
        "GitHub",
        (
            _p("Owner", True, True, "The GitHub user or organization"),
            _p("Repo", True, True, "The repository name"),
            _p("Branch", True, True, "The branch whose changes start the pipeline"),
            Property("OAuthToken", True, False, True, False, "The GitHub OAuth token"),
            POLL,
        ),
        (0, 0),
        (1, 1),
        owner="ThirdParty",
        entity_url="https://github.com/{Config:Owner}/{Config:Repo}/tree/{Config:Branch}",
        revision_url="https://github.com/{Config:Owner}/{Config:Repo}/commit/{RevisionId}",
        execution_url="https://github.com/{Config:Owner}/{Config:Repo}/commit/"
        "{ExternalExecutionId}",
        runner=job_worker.RUNNER,
        timeout_minutes=24 * HOURS,
    ),
    ActionType(
        "Test",
        "LabPartner",
        (
            _p("ProjectId", True, True, "The partner's project to run"),
            Property(
                "ClientToken",
                True,
                False,
                True,
                False,
                "The token the partner was given when it was connected",
            ),
        ),
        (0, 5),
        (0, 5),
        owner="ThirdParty",
        configuration_url="https://partner.example.com/codepipeline/setup",
        entity_url="https://partner.example.com/projects/{Config:ProjectId}",
        execution_url="https://partner.example.com/runs/{ExternalExecutionId}",
        runner=job_worker.RUNNER,
        timeout_minutes=24 * HOURS,
        description="The lab kit's stand-in for a partner's (ThirdParty) action",
    ),
)

CUSTOM_TIMEOUT_MINUTES = 24 * HOURS  # AWS: custom actions time out after 24 hours


Key = tuple[str, str, str, str]  # category, owner, provider, version
_CATALOGUE: dict[Key, ActionType] = {}


def _key(action_type: ActionType) -> Key:
    return (action_type.category, action_type.owner, action_type.provider, action_type.version)


def register(action_type: ActionType) -> None:
    """Add (or replace) a type of the catalogue every account sees."""
    _CATALOGUE[_key(action_type)] = action_type


def unregister(action_type: ActionType) -> None:
    _CATALOGUE.pop(_key(action_type), None)


for _type in AWS_ACTION_TYPES:
    register(_type)


def catalogue() -> list[ActionType]:
    """The types every account sees, in registration order (ListActionTypes' order)."""
    return list(_CATALOGUE.values())


def find(category: str, owner: str, provider: str, version: str) -> ActionType | None:
    return _CATALOGUE.get((category, owner, provider, version))


def find_id(
    type_id: dict,
    account: str | None = None,
    region: str | None = None,
    include_deleted: bool = False,
) -> ActionType | None:
    """The type with this id: the catalogue's, or (given account and region) a custom one."""
    found = find(
        type_id.get("category", ""),
        type_id.get("owner", ""),
        type_id.get("provider", ""),
        type_id.get("version", ""),
    )
    if found is None and account and region and type_id.get("owner") == "Custom":
        from .models import codepipeline_lab_backends

        found = codepipeline_lab_backends[account][region].custom_types.find(
            type_id, include_deleted
        )
    return found


_CONFIG_FIELD = re.compile(r"\{Config:([A-Za-z0-9]+)\}")


def fill_url(
    template: str, configuration: dict, region: str, external_execution_id: str | None = None
) -> str:
    """A type's URL template filled in: {Config:<name>} from the action's configuration,
    {ExternalExecutionId} from the job's result (actions-create-custom-action.md), and the
    console's region."""
    url = _CONFIG_FIELD.sub(lambda m: str(configuration.get(m.group(1), "")), template)
    if external_execution_id is not None:
        url = url.replace("{ExternalExecutionId}", external_execution_id)
    return url.replace("/home#", f"/home?region={region}#").replace(
        "/home?#", f"/home?region={region}#"
    )


def execution_url(
    type_id: dict, configuration: dict, external_execution_id: str, account: str, region: str
) -> str | None:
    """The run's externalExecutionUrl: the type's executionUrlTemplate, if it has one."""
    found = find_id(type_id, account, region, include_deleted=True)
    if found is None or not found.execution_url:
        return None
    return fill_url(found.execution_url, configuration, region, external_execution_id)


# -- what the rest of the kit reads from the runners ------------------------------------


def runner_for(type_id: dict, account: str, region: str) -> Runner:
    """What runs an action of this type; a custom type deleted since the pipeline was
    created still queues its jobs (its worker can no longer poll them)."""
    found = find_id(type_id, account, region, include_deleted=True)
    runner = found.runner if found is not None else None
    return runner or Runner(cannot_run)


def cannot_run(ctx: ActionContext) -> None:
    type_id = ctx.action_type_id
    raise ActionFailed(
        f"The lab kit cannot run {type_id['owner']} {type_id['provider']} "
        f"{type_id['category']} actions offline (it runs {runnable_summary()})."
    )


CATEGORY_NOUNS = {
    "Source": "sources",
    "Build": "builds",
    "Test": "tests",
    "Deploy": "deployments",
    "Approval": "approvals",
    "Invoke": "invocations",
    "Compute": "compute actions",
}


def runnable_summary() -> str:
    """What the kit runs, from the catalogue: 'CodeCommit and S3 sources, CodeBuild builds
    and tests, ...' (categories whose providers are the same share one phrase)."""
    by_category: dict[str, list[str]] = {}
    for action_type in catalogue():
        if action_type.owner == "AWS" and action_type.runner is not None:
            by_category.setdefault(action_type.category, []).append(
                action_type.runner.name or action_type.provider
            )
    phrases: list[tuple[list[str], list[str]]] = []  # (provider names, category nouns)
    for category, names in by_category.items():
        noun = CATEGORY_NOUNS.get(category, f"{category} actions")
        if phrases and phrases[-1][0] == names:
            phrases[-1][1].append(noun)
        else:
            phrases.append((names, [noun]))
    return _and([f"{_and(names)} {_and(nouns)}" for names, nouns in phrases])


def _and(words: list[str]) -> str:
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else "".join(words)


def panel_kind(
    category: str | None, provider: str | None, owner: str = "AWS", version: str = "1"
) -> str | None:
    """The detail panel the pipeline view shows for an action of this type (build-log,
    deployment-events), or None."""
    found = find(category or "", owner, provider or "", version)
    return found.runner.panel if found is not None and found.runner is not None else None


def is_source(type_id: dict) -> bool:
    return type_id.get("category") == "Source"
