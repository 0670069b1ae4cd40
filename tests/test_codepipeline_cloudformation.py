"""The CloudFormation deploy action on the local CloudFormation (moto's, in-process): each
ActionMode, template configuration, parameter overrides with Fn::GetParam and
Fn::GetArtifactAtt, outputs as variables and as a file, failures with the stack's reason."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from botocore.exceptions import ClientError

from tests.pipelines import CFN_ROLE, cloudformation_action, create_role, source_action

STACK = "lab-stack"

TEMPLATE = {
    "Parameters": {
        "BucketName": {"Type": "String"},
        "Stage": {"Type": "String", "Default": "dev"},
        "ArtifactBucket": {"Type": "String", "Default": ""},
        "ArtifactKey": {"Type": "String", "Default": ""},
        "ArtifactUrl": {"Type": "String", "Default": ""},
    },
    "Resources": {
        "Site": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Ref": "BucketName"}}},
        "Queue": {"Type": "AWS::SQS::Queue"},
    },
    "Outputs": {
        "SiteBucket": {"Value": {"Ref": "Site"}},
        "SiteArn": {"Value": {"Fn::GetAtt": ["Site", "Arn"]}},
        "Stage": {"Value": {"Ref": "Stage"}},
        "ArtifactKey": {"Value": {"Ref": "ArtifactKey"}},
        "ArtifactBucket": {"Value": {"Ref": "ArtifactBucket"}},
        "ArtifactUrl": {"Value": {"Ref": "ArtifactUrl"}},
    },
}

CONFIGURATION = {
    "Parameters": {"BucketName": "lab-site-config", "Stage": "test"},
    "Tags": {"team": "lab"},
    "StackPolicy": {
        "Statement": [{"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}]
    },
}


@pytest.fixture
def cfn(lab, client):
    """The lab with CloudFormation's role and a repository holding the template."""
    create_role(client("iam"), CFN_ROLE, "cloudformation.amazonaws.com")
    lab.commit("template.json", json.dumps(TEMPLATE))
    lab.cf = client("cloudformation")
    return lab


def deploy(lab, *actions, name: str = "lab-pipeline") -> str:
    """A pipeline Source -> Deploy (the actions given); the id of its first execution."""
    return lab.create(
        name=name,
        stages=[
            {"name": "Source", "actions": [source_action()]},
            {"name": "Deploy", "actions": list(actions)},
        ],
    )


def rerun(lab, name: str = "lab-pipeline") -> dict:
    execution_id = lab.cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
    return lab.wait(execution_id, name)


def stack(lab, name: str = STACK) -> dict:
    return lab.cf.describe_stacks(StackName=name)["Stacks"][0]


def outputs_file(lab, action: dict, file_name: str) -> dict:
    location = action["output"]["outputArtifacts"][0]["s3location"]
    data = lab.s3.get_object(Bucket=location["bucket"], Key=location["key"])["Body"].read()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return json.loads(archive.read(file_name))


def test_create_update_with_configuration_overrides_outputs_and_no_op_update(cfn):
    cfn.commit("config.json", json.dumps(CONFIGURATION))
    cfn.commit("names.json", json.dumps({"bucket": "lab-site-param"}))
    overrides = {
        "BucketName": {"Fn::GetParam": ["SourceOutput", "names.json", "bucket"]},
        "ArtifactBucket": {"Fn::GetArtifactAtt": ["SourceOutput", "BucketName"]},
        "ArtifactKey": {"Fn::GetArtifactAtt": ["SourceOutput", "ObjectKey"]},
        "ArtifactUrl": {"Fn::GetArtifactAtt": ["SourceOutput", "URL"]},
    }
    execution_id = deploy(
        cfn,
        cloudformation_action(
            outputs=("StackOutput",),
            namespace="DeployVariables",
            TemplateConfiguration="SourceOutput::config.json",
            ParameterOverrides=json.dumps(overrides),
            OutputFileName="outputs.json",
        ),
    )
    assert cfn.execution(execution_id)["status"] == "Succeeded"
    action = cfn.actions(execution_id)["Deploy"]
    source = action["input"]["inputArtifacts"][0]["s3location"]
    variables = action["output"]["outputVariables"]
    assert variables["SiteBucket"] == "lab-site-param"  # the override wins over the file
    assert variables["SiteArn"] == "arn:aws:s3:::lab-site-param"
    assert variables["Stage"] == "test"  # from the template configuration file
    assert (variables["ArtifactBucket"], variables["ArtifactKey"]) == (
        source["bucket"],
        source["key"],
    )
    assert variables["ArtifactUrl"].endswith(f"/{source['bucket']}/{source['key']}")
    assert outputs_file(cfn, action, "outputs.json") == variables
    described = stack(cfn)
    assert described["StackStatus"] == "CREATE_COMPLETE"
    assert {"Key": "team", "Value": "lab"} in described["Tags"]
    assert described["RoleARN"] == CFN_ROLE
    assert "Update:*" in cfn.cf.get_stack_policy(StackName=STACK)["StackPolicyBody"]
    cfn.s3.head_bucket(Bucket="lab-site-param")  # moto made the stack's resources
    assert action["output"]["executionResult"]["externalExecutionId"] == described["StackId"]
    assert "cloudformation" in action["output"]["executionResult"]["externalExecutionUrl"]

    cfn.commit("names.json", json.dumps({"bucket": "lab-site-renamed"}))
    assert rerun(cfn)["status"] == "Succeeded"
    assert stack(cfn)["StackStatus"] == "UPDATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack(cfn)["Outputs"]}
    assert outputs["SiteBucket"] == "lab-site-renamed"
    assert outputs["ArtifactKey"] != variables["ArtifactKey"]  # each run's artifact is new


def test_an_update_without_changes_is_a_success(cfn):
    execution_id = deploy(
        cfn,
        cloudformation_action(
            namespace="Deployed", ParameterOverrides='{"BucketName": "lab-same"}'
        ),
    )
    assert cfn.execution(execution_id)["status"] == "Succeeded"
    again = rerun(cfn)  # same template and parameters: "No updates" is a success
    assert again["status"] == "Succeeded"
    result = cfn.actions(again["pipelineExecutionId"])["Deploy"]["output"]
    assert "no updates" in result["executionResult"]["externalExecutionSummary"]
    assert result["outputVariables"]["SiteBucket"] == "lab-same"
    assert stack(cfn)["StackStatus"] == "CREATE_COMPLETE"


def test_outputs_feed_a_later_action_through_variables(cfn):
    execution_id = deploy(
        cfn,
        cloudformation_action(
            namespace="DeployVariables", ParameterOverrides='{"BucketName": "lab-first"}'
        ),
        cloudformation_action(
            name="Second",
            stack="#{DeployVariables.SiteBucket}-copy",
            run_order=2,
            ParameterOverrides='{"BucketName": "#{DeployVariables.SiteBucket}-2"}',
        ),
    )
    assert cfn.execution(execution_id)["status"] == "Succeeded"
    assert stack(cfn, "lab-first-copy")["StackStatus"] == "CREATE_COMPLETE"
    cfn.s3.head_bucket(Bucket="lab-first-2")


def test_failing_stack_fails_the_action_with_the_stacks_reason_then_replace_on_failure(cfn):
    cfn.s3.create_bucket(Bucket="lab-taken")  # the stack's bucket cannot be made
    execution_id = deploy(
        cfn, cloudformation_action(ParameterOverrides='{"BucketName": "lab-taken"}')
    )
    assert cfn.execution(execution_id)["status"] == "Failed"
    error = cfn.actions(execution_id)["Deploy"]["output"]["executionResult"]
    state = cfn.action_state("Deploy", "Deploy")["latestExecution"]
    assert state["status"] == "Failed"
    assert "ROLLBACK_COMPLETE" in state["errorDetails"]["message"]
    assert "bucket name is not available" in state["errorDetails"]["message"]
    assert error["externalExecutionId"].startswith("arn:aws:cloudformation:")
    described = stack(cfn)
    assert described["StackStatus"] == "ROLLBACK_COMPLETE"
    events = cfn.cf.describe_stack_events(StackName=STACK)["StackEvents"]
    assert any(e["ResourceStatus"] == "CREATE_FAILED" for e in events)
    assert cfn.cf.describe_stack_resources(StackName=STACK)["StackResources"] == []

    second = rerun(cfn)  # CREATE_UPDATE does not replace a failed stack
    assert second["status"] == "Failed"
    message = cfn.action_state("Deploy", "Deploy")["latestExecution"]["errorDetails"]["message"]
    assert "ROLLBACK_COMPLETE state and can not be updated" in message

    cfn.s3.delete_bucket(Bucket="lab-taken")
    cfn.cp.create_pipeline(
        pipeline={
            **cfn.cp.get_pipeline(name="lab-pipeline")["pipeline"],
            "name": "lab-replace",
            "stages": [
                {"name": "Source", "actions": [source_action()]},
                {
                    "name": "Deploy",
                    "actions": [
                        cloudformation_action(
                            mode="REPLACE_ON_FAILURE",
                            ParameterOverrides='{"BucketName": "lab-taken"}',
                        )
                    ],
                },
            ],
        }
    )
    assert cfn.wait(cfn.latest("lab-replace"), "lab-replace")["status"] == "Succeeded"
    replaced = stack(cfn)
    assert replaced["StackStatus"] == "CREATE_COMPLETE"
    assert replaced["StackId"] != described["StackId"]


def test_delete_only_deletes_and_a_missing_stack_is_success(cfn):
    cfn.cf.create_stack(
        StackName=STACK,
        TemplateBody=json.dumps(TEMPLATE),
        Parameters=[{"ParameterKey": "BucketName", "ParameterValue": "lab-doomed"}],
    )
    execution_id = deploy(cfn, cloudformation_action(mode="DELETE_ONLY", inputs=()))
    assert cfn.execution(execution_id)["status"] == "Succeeded"
    with pytest.raises(ClientError):
        cfn.cf.describe_stacks(StackName=STACK)
    again = rerun(cfn)
    assert again["status"] == "Succeeded"
    summary = cfn.actions(again["pipelineExecutionId"])["Deploy"]["output"]["executionResult"]
    assert "does not exist" in summary["externalExecutionSummary"]


def test_change_set_replace_then_execute(cfn):
    execution_id = deploy(
        cfn,
        cloudformation_action(
            name="Plan",
            mode="CHANGE_SET_REPLACE",
            ChangeSetName="lab-changes",
            ParameterOverrides='{"BucketName": "lab-planned"}',
        ),
        cloudformation_action(
            name="Apply",
            mode="CHANGE_SET_EXECUTE",
            run_order=2,
            inputs=(),
            namespace="ApplyVariables",
            ChangeSetName="lab-changes",
            TemplatePath=None,
            RoleArn=None,
        ),
    )
    assert cfn.execution(execution_id)["status"] == "Succeeded"
    actions = cfn.actions(execution_id)
    assert "lab-changes" in actions["Plan"]["output"]["executionResult"]["externalExecutionSummary"]
    assert actions["Apply"]["output"]["outputVariables"]["SiteBucket"] == "lab-planned"
    assert stack(cfn)["StackStatus"] == "CREATE_COMPLETE"
    assert cfn.cf.list_change_sets(StackName=STACK)["Summaries"] == []  # executed: removed
    cfn.s3.head_bucket(Bucket="lab-planned")

    again = rerun(cfn)  # nothing changed: the empty change set is not an error
    assert again["status"] == "Succeeded"
    assert stack(cfn)["StackStatus"] == "CREATE_COMPLETE"


def test_change_set_replace_alone_does_not_execute(cfn):
    execution_id = deploy(
        cfn,
        cloudformation_action(
            mode="CHANGE_SET_REPLACE",
            ChangeSetName="review",
            ParameterOverrides='{"BucketName": "lab-review"}',
        ),
    )
    assert cfn.execution(execution_id)["status"] == "Succeeded"
    assert stack(cfn)["StackStatus"] == "REVIEW_IN_PROGRESS"
    [summary] = cfn.cf.list_change_sets(StackName=STACK)["Summaries"]
    assert summary["ChangeSetName"] == "review"
    assert rerun(cfn)["status"] == "Succeeded"  # replaced, still one
    assert len(cfn.cf.list_change_sets(StackName=STACK)["Summaries"]) == 1
    with pytest.raises(ClientError):
        cfn.s3.head_bucket(Bucket="lab-review")


IAM_TEMPLATE = {
    "Resources": {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": "lab-made-role",
                "AssumeRolePolicyDocument": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ]
                },
            },
        }
    },
    "Outputs": {"RoleArn": {"Value": {"Fn::GetAtt": ["Role", "Arn"]}}},
}


def test_iam_resources_need_capabilities(cfn):
    cfn.commit("iam.json", json.dumps(IAM_TEMPLATE))
    execution_id = deploy(
        cfn,
        cloudformation_action(TemplatePath="SourceOutput::iam.json", Capabilities="CAPABILITY_IAM"),
    )
    assert cfn.execution(execution_id)["status"] == "Failed"
    details = cfn.action_state("Deploy", "Deploy")["latestExecution"]["errorDetails"]
    assert details["message"] == "Requires capabilities : [CAPABILITY_NAMED_IAM]"
    cfn.cp.create_pipeline(
        pipeline={
            **cfn.cp.get_pipeline(name="lab-pipeline")["pipeline"],
            "name": "lab-named",
            "stages": [
                {"name": "Source", "actions": [source_action()]},
                {
                    "name": "Deploy",
                    "actions": [
                        cloudformation_action(
                            TemplatePath="SourceOutput::iam.json",
                            Capabilities="CAPABILITY_IAM,CAPABILITY_NAMED_IAM",
                        )
                    ],
                },
            ],
        }
    )
    assert cfn.wait(cfn.latest("lab-named"), "lab-named")["status"] == "Succeeded"
    cfn_iam = cfn.cf.describe_stack_resources(StackName=STACK)["StackResources"]
    assert [r["ResourceType"] for r in cfn_iam] == ["AWS::IAM::Role"]


def test_role_must_exist_and_parameters_must_be_declared(cfn):
    execution_id = deploy(
        cfn,
        cloudformation_action(
            RoleArn="arn:aws:iam::123456789012:role/Nobody",
            ParameterOverrides='{"BucketName": "lab-x"}',
        ),
    )
    assert cfn.execution(execution_id)["status"] == "Failed"
    message = cfn.action_state("Deploy", "Deploy")["latestExecution"]["errorDetails"]["message"]
    assert "is invalid or cannot be assumed" in message

    deploy(
        cfn,
        cloudformation_action(ParameterOverrides='{"BucketName": "lab-y", "Nope": "1"}'),
        name="lab-unknown",
    )
    state = cfn.state("lab-unknown")["Deploy"]["actionStates"][0]["latestExecution"]
    assert state["errorDetails"]["message"] == "Parameters: [Nope] do not exist in the template"

    deploy(cfn, cloudformation_action(), name="lab-missing")
    state = cfn.state("lab-missing")["Deploy"]["actionStates"][0]["latestExecution"]
    assert state["errorDetails"]["message"] == "Parameters: [BucketName] must have values"


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"ActionMode": "UPSERT"}, "ActionMode must be one of"),
        ({"ActionMode": "CHANGE_SET_EXECUTE", "TemplatePath": None}, "'ChangeSetName'"),
        ({"ActionMode": "CREATE_UPDATE", "TemplatePath": None}, "'TemplatePath'"),
    ],
)
def test_create_pipeline_checks_the_mode_and_what_it_needs(cfn, config, words):
    mode = config.pop("ActionMode")
    action = cloudformation_action(mode=mode, **config)
    with pytest.raises(ClientError) as caught:
        deploy(cfn, action)
    assert caught.value.response["Error"]["Code"] == "InvalidActionDeclarationException"
    assert words in caught.value.response["Error"]["Message"]


def test_a_failing_update_rolls_back_and_fails_with_the_reason(cfn):
    cfn.commit("names.json", json.dumps({"bucket": "lab-before"}))
    overrides = json.dumps(
        {"BucketName": {"Fn::GetParam": ["SourceOutput", "names.json", "bucket"]}}
    )
    execution_id = deploy(cfn, cloudformation_action(ParameterOverrides=overrides))
    assert cfn.execution(execution_id)["status"] == "Succeeded"
    cfn.s3.create_bucket(Bucket="lab-occupied")
    cfn.commit("names.json", json.dumps({"bucket": "lab-occupied"}))
    assert rerun(cfn)["status"] == "Failed"
    message = cfn.action_state("Deploy", "Deploy")["latestExecution"]["errorDetails"]["message"]
    assert message.startswith("Stack lab-stack is in UPDATE_ROLLBACK_COMPLETE state:")
    assert "bucket name is not available" in message
    described = stack(cfn)
    assert described["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    assert outputs["SiteBucket"] == "lab-before"

    cfn.commit("names.json", json.dumps({"bucket": "lab-after"}))  # an update may follow
    assert rerun(cfn)["status"] == "Succeeded"
    assert stack(cfn)["StackStatus"] == "UPDATE_COMPLETE"


def test_a_change_set_updates_an_existing_stack(cfn):
    cfn.cf.create_stack(
        StackName=STACK,
        TemplateBody=json.dumps(TEMPLATE),
        Parameters=[{"ParameterKey": "BucketName", "ParameterValue": "lab-v1"}],
    )
    execution_id = deploy(
        cfn,
        cloudformation_action(
            name="Plan",
            mode="CHANGE_SET_REPLACE",
            namespace="PlanVariables",
            ChangeSetName="next",
            ParameterOverrides='{"BucketName": "lab-v2", "Stage": "prod"}',
        ),
        cloudformation_action(
            name="Apply",
            mode="CHANGE_SET_EXECUTE",
            run_order=2,
            inputs=(),
            outputs=("Outputs",),
            ChangeSetName="next",
            OutputFileName="stack.json",
            TemplatePath=None,
        ),
    )
    assert cfn.execution(execution_id)["status"] == "Succeeded"
    actions = cfn.actions(execution_id)
    assert actions["Plan"]["output"]["outputVariables"]["SiteBucket"] == "lab-v1"  # not yet
    written = outputs_file(cfn, actions["Apply"], "stack.json")
    assert (written["SiteBucket"], written["Stage"]) == ("lab-v2", "prod")
    assert stack(cfn)["StackStatus"] == "UPDATE_COMPLETE"
