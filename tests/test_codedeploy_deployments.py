"""A deployment really deploys: lifecycle events, files, hooks, failures, as AWS reports them."""

from __future__ import annotations

import pytest

from tests.deployments import Lab, appspec, make_zip, recording_script, root, standard_bundle


@pytest.fixture
def lab(deploy_lab: Lab) -> Lab:
    """These tests' `lab` is a CodeDeploy application (conftest's `lab` is a pipeline's)."""
    return deploy_lab


IN_PLACE_ORDER = [
    "ApplicationStop",
    "DownloadBundle",
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "ApplicationStart",
    "ValidateService",
]


def hook_log(instance_id: str) -> list[list[str]]:
    path = root(instance_id) / "var/log/lab/hooks.log"
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def test_deployment_runs_lifecycle_events_in_order_and_copies_files(lab):
    [instance] = lab.instances(1)
    lab.create_group()
    info = lab.run()

    assert info["status"] == "Succeeded"
    assert info["creator"] == "user"
    assert info["deploymentConfigName"] == "CodeDeployDefault.OneAtATime"
    assert info["deploymentOverview"]["Succeeded"] == 1
    assert info["createTime"] <= info["startTime"] <= info["completeTime"]
    summary = lab.instance_summary(info["deploymentId"], instance)
    assert summary["status"] == "Succeeded"
    assert summary["instanceId"].endswith(f":instance/{instance}")
    events = summary["lifecycleEvents"]
    assert [event["lifecycleEventName"] for event in events] == IN_PLACE_ORDER
    assert all(event["status"] == "Succeeded" for event in events)
    assert all(event["diagnostics"]["errorCode"] == "Success" for event in events)
    starts = [event["startTime"] for event in events]
    assert starts == sorted(starts)
    assert (root(instance) / "var/www/html/index.html").read_text() == "<h1>v1</h1>\n"
    # ApplicationStop has no previous revision on a first deployment: no script ran.
    assert [line[0] for line in hook_log(instance)] == [
        "BeforeInstall",
        "AfterInstall",
        "ApplicationStart",
        "ValidateService",
    ]


def test_hooks_see_the_aws_environment_and_run_in_the_archive(lab):
    [instance] = lab.instances(1)
    lab.create_group()
    info = lab.run()
    group = lab.deploy.get_deployment_group(
        applicationName=lab.application, deploymentGroupName=lab.group
    )["deploymentGroupInfo"]
    event, deployment_id, application, group_name, group_id, lifecycle, cwd = hook_log(instance)[0]
    assert (event, lifecycle) == ("BeforeInstall", "BeforeInstall")
    assert deployment_id == info["deploymentId"]
    assert (application, group_name) == (lab.application, lab.group)
    assert group_id == group["deploymentGroupId"]
    assert cwd == str(
        root(instance)
        / "opt/codedeploy-agent/deployment-root"
        / group_id
        / deployment_id
        / "deployment-archive"
    )


def test_second_deployment_runs_previous_revisions_application_stop(lab):
    [instance] = lab.instances(1)
    lab.create_group()
    first = lab.run(standard_bundle("v1"))
    stop_v2 = '#!/bin/sh\necho v2-stop >> "$LAB_INSTANCE_ROOT/stops.txt"\n'
    stop_v1 = '#!/bin/sh\necho v1-stop >> "$LAB_INSTANCE_ROOT/stops.txt"\n'
    # Redeploy v1 with an ApplicationStop that records itself, then deploy v2.
    lab.run(standard_bundle("v1", {"scripts/ApplicationStop.sh": stop_v1}))
    second = lab.run(standard_bundle("v2", {"scripts/ApplicationStop.sh": stop_v2}))

    assert second["status"] == "Succeeded"
    assert second["previousRevision"] == first["revision"]
    # Deployment 2 ran v1's (first) stop script; deployment 3 ran deployment 2's (v1-stop).
    assert (root(instance) / "stops.txt").read_text().split() == ["v1-stop"]
    assert (root(instance) / "var/www/html/index.html").read_text() == "<h1>v2</h1>\n"


def test_disallow_fails_on_a_file_not_installed_by_codedeploy(lab):
    [instance] = lab.instances(1)
    lab.create_group()
    existing = root(instance) / "var/www/html/index.html"
    existing.parent.mkdir(parents=True)
    existing.write_text("hand made")
    info = lab.run()

    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "HEALTH_CONSTRAINTS"
    events = lab.events(info["deploymentId"], instance)
    assert events["Install"]["status"] == "Failed"
    assert events["Install"]["diagnostics"]["errorCode"] == "UnknownError"
    assert events["Install"]["diagnostics"]["message"] == (
        "The deployment failed because a specified file already exists at this location: "
        "/var/www/html/index.html"
    )
    assert [events[name]["status"] for name in IN_PLACE_ORDER[4:]] == ["Skipped"] * 3
    assert existing.read_text() == "hand made"


@pytest.mark.parametrize("where", ["api", "appspec"])
def test_overwrite_replaces_and_retain_keeps_existing_files(lab, where):
    [instance] = lab.instances(1)
    lab.create_group()
    page = root(instance) / "var/www/html/index.html"
    page.parent.mkdir(parents=True)
    page.write_text("hand made")
    for behavior, expected in (("RETAIN", "hand made"), ("OVERWRITE", "<h1>v1</h1>\n")):
        if where == "api":
            info = lab.run(fileExistsBehavior=behavior)
        else:
            bundle = make_zip(
                {
                    "appspec.yml": appspec(extra=f"file_exists_behavior: {behavior}\n"),
                    "site/index.html": "<h1>v1</h1>\n",
                }
            )
            info = lab.run(bundle)
        assert info["status"] == "Succeeded", behavior
        assert page.read_text() == expected


def test_files_of_the_previous_revision_are_cleaned_up(lab):
    [instance] = lab.instances(1)
    lab.create_group()
    lab.run(make_zip({"appspec.yml": appspec(), "site/index.html": "1", "site/old.html": "o"}))
    lab.run(make_zip({"appspec.yml": appspec(), "site/index.html": "2"}))
    html = root(instance) / "var/www/html"
    assert sorted(path.name for path in html.iterdir()) == ["index.html"]


def test_failing_validate_service_reports_script_failed_with_log_tail(lab):
    [instance] = lab.instances(1)
    lab.create_group()
    failing = "#!/bin/sh\necho checking\necho 'HTTP 500' >&2\nexit 3\n"
    info = lab.run(standard_bundle(extra_files={"scripts/ValidateService.sh": failing}))

    assert info["status"] == "Failed"
    events = lab.events(info["deploymentId"], instance)
    validate = events["ValidateService"]
    assert validate["status"] == "Failed"
    assert validate["diagnostics"]["errorCode"] == "ScriptFailed"
    assert validate["diagnostics"]["scriptName"] == "scripts/ValidateService.sh"
    assert validate["diagnostics"]["message"] == (
        "Script at specified location: scripts/ValidateService.sh failed with exit code 3"
    )
    # stdout and stderr are separate pipes: their relative order is not guaranteed.
    assert sorted(validate["diagnostics"]["logTail"].splitlines()) == [
        "[stderr]HTTP 500",
        "[stdout]checking",
    ]
    assert events["ApplicationStart"]["status"] == "Succeeded"


def test_script_timeout_is_script_timed_out(lab):
    [instance] = lab.instances(1)
    lab.create_group()
    bundle = make_zip(
        {
            "appspec.yml": appspec({"AfterInstall": "slow.sh:1"}),
            "site/index.html": "x",
            "slow.sh": "#!/bin/sh\necho starting\nsleep 30\n",
        }
    )
    info = lab.run(bundle)
    after = lab.events(info["deploymentId"], instance)["AfterInstall"]
    assert after["status"] == "Failed"
    assert after["diagnostics"]["errorCode"] == "ScriptTimedOut"
    assert after["diagnostics"]["message"] == (
        "Script at specified location: slow.sh failed to complete in 1 seconds"
    )
    assert after["diagnostics"]["logTail"] == "[stdout]starting\n"
    assert (after["endTime"] - after["startTime"]).total_seconds() < 5


def test_non_executable_script_is_made_executable_and_missing_script_fails(lab):
    [instance] = lab.instances(1)
    lab.create_group()
    bundle = make_zip(
        {
            "appspec.yml": appspec({"BeforeInstall": "before.sh"}),
            "site/index.html": "x",
            "before.sh": recording_script("BeforeInstall"),
        },
        executable=False,
    )
    assert lab.run(bundle)["status"] == "Succeeded"
    assert hook_log(instance)[0][0] == "BeforeInstall"

    bundle = make_zip(
        {"appspec.yml": appspec({"AfterInstall": "scripts/nope.sh"}), "site/index.html": "x"}
    )
    info = lab.run(bundle)
    after = lab.events(info["deploymentId"], instance)["AfterInstall"]
    assert after["diagnostics"]["errorCode"] == "ScriptMissing"
    assert after["diagnostics"]["message"].startswith(
        "Script does not exist at specified location: /opt/codedeploy-agent/deployment-root/"
    )


def test_missing_appspec_fails_before_install_with_the_agents_message(lab):
    [instance] = lab.instances(1)
    lab.create_group()
    info = lab.run(make_zip({"index.html": "no appspec here"}))
    events = lab.events(info["deploymentId"], instance)
    assert events["DownloadBundle"]["status"] == "Succeeded"
    before = events["BeforeInstall"]
    assert before["status"] == "Failed"
    assert before["diagnostics"]["errorCode"] == "UnknownError"
    assert before["diagnostics"]["message"].startswith(
        "The CodeDeploy agent did not find an AppSpec file within the unpacked revision "
        'directory at revision-relative path "appspec.yml".'
    )


def test_invalid_appspec_version_fails_with_unknown_error(lab):
    [instance] = lab.instances(1)
    lab.create_group()
    info = lab.run(make_zip({"appspec.yml": "version: 1.0\nos: linux\n"}))
    message = lab.events(info["deploymentId"], instance)["BeforeInstall"]["diagnostics"]["message"]
    assert "invalid version value (1.0)" in message


def test_bundle_in_a_single_top_folder_is_unwrapped(lab):
    [instance] = lab.instances(1)
    lab.create_group()
    info = lab.run(make_zip({"app/appspec.yml": appspec(), "app/site/index.html": "wrapped"}))
    assert info["status"] == "Succeeded"
    assert (root(instance) / "var/www/html/index.html").read_text() == "wrapped"


def test_missing_s3_object_fails_download_bundle(lab):
    [instance] = lab.instances(1)
    lab.create_group()
    revision = {
        "revisionType": "S3",
        "s3Location": {"bucket": "lab-revisions", "key": "nope.zip", "bundleType": "zip"},
    }
    info = lab.run(revision=revision)
    download = lab.events(info["deploymentId"], instance)["DownloadBundle"]
    assert download["status"] == "Failed"
    assert download["diagnostics"] == {
        "errorCode": "UnknownError",
        "scriptName": "",
        "message": "The specified key does not exist.",
        "logTail": "",
    }


def test_tar_and_tgz_bundles_deploy(lab):
    import io
    import tarfile

    [instance] = lab.instances(1)
    lab.create_group()
    for bundle_type, mode in (("tar", "w"), ("tgz", "w:gz")):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode=mode) as archive:
            for name, text in (("appspec.yml", appspec()), ("site/index.html", bundle_type)):
                data = text.encode()
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        revision = lab.upload(buffer.getvalue(), key=f"app.{bundle_type}")
        revision["s3Location"]["bundleType"] = bundle_type
        assert lab.run(revision=revision)["status"] == "Succeeded"
        assert (root(instance) / "var/www/html/index.html").read_text() == bundle_type


def test_no_matching_instances_fails_with_no_instances(lab):
    lab.create_group(ec2TagFilters=[{"Key": "Env", "Value": "nowhere", "Type": "KEY_AND_VALUE"}])
    info = lab.run()
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "NO_INSTANCES"


def test_revisions_that_are_not_for_ec2_are_rejected(lab):
    lab.instances(1)
    lab.create_group()
    for revision in (
        {"revisionType": "String", "string": {"content": "{}"}},
        {"revisionType": "AppSpecContent", "appSpecContent": {"content": "{}"}},
    ):
        with pytest.raises(lab.deploy.exceptions.InvalidRevisionException):
            lab.deploy.create_deployment(
                applicationName=lab.application, deploymentGroupName=lab.group, revision=revision
            )


def test_github_revision_fails_with_a_clear_message(lab):
    [instance] = lab.instances(1)
    lab.create_group()
    info = lab.run(
        revision={
            "revisionType": "GitHub",
            "gitHubLocation": {"repository": "me/app", "commitId": "a" * 40},
        }
    )
    message = lab.events(info["deploymentId"], instance)["DownloadBundle"]["diagnostics"]["message"]
    assert "GitHub" in message


def test_revisions_are_recorded_and_listed(lab):
    lab.instances(1)
    lab.create_group()
    deployed = lab.run()["revision"]
    registered = lab.upload(standard_bundle("v9"), key="v9.zip")
    lab.deploy.register_application_revision(
        applicationName=lab.application, revision=registered, description="nine"
    )
    revisions = lab.deploy.list_application_revisions(
        applicationName=lab.application, sortBy="registerTime", sortOrder="ascending"
    )["revisions"]
    assert revisions == [deployed, registered]
    only_deployed = lab.deploy.list_application_revisions(
        applicationName=lab.application, deployed="include"
    )["revisions"]
    assert only_deployed == [deployed]
    got = lab.deploy.get_application_revision(applicationName=lab.application, revision=registered)
    assert got["revisionInfo"]["description"] == "nine"
    used = lab.deploy.get_application_revision(applicationName=lab.application, revision=deployed)[
        "revisionInfo"
    ]
    assert used["deploymentGroups"] == [lab.group] and "firstUsedTime" in used
    batch = lab.deploy.batch_get_application_revisions(
        applicationName=lab.application, revisions=[deployed, registered]
    )
    assert len(batch["revisions"]) == 2
    with pytest.raises(lab.deploy.exceptions.RevisionDoesNotExistException):
        lab.deploy.get_application_revision(
            applicationName=lab.application,
            revision={
                "revisionType": "S3",
                "s3Location": {"bucket": "b", "key": "k", "bundleType": "zip"},
            },
        )
