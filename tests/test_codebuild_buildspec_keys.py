"""Buildspec keys about the build machine: env/shell honoured (bash, /bin/sh), run-as,
proxy and env/git-credential-helper accepted and explained in the build log."""

from __future__ import annotations

import pytest

from helpers.emulator import workers

ROLE = "arn:aws:iam::123456789012:role/codebuild-lab"


@pytest.fixture
def cb(client):
    workers.set_synchronous(True)
    yield client("codebuild")
    workers.set_synchronous(None)


def run(cb, buildspec: str) -> dict:
    cb.create_project(
        name="keys",
        source={"type": "NO_SOURCE", "buildspec": buildspec},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole=ROLE,
    )
    build_id = cb.start_build(projectName="keys")["build"]["id"]
    return cb.batch_get_builds(ids=[build_id])["builds"][0]


def log_lines(client, build: dict) -> list[str]:
    events = client("logs").get_log_events(
        logGroupName=build["logs"]["groupName"],
        logStreamName=build["logs"]["streamName"],
        startFromHead=True,
    )["events"]
    return [event["message"] for event in events]


def test_shell_sh_runs_posix(cb, client):
    build = run(
        cb,
        "version: 0.2\nenv:\n  shell: /bin/sh\nphases:\n  build:\n    commands:\n"
        "      - '[ -o posix ] && echo POSIX-ON'\n",
    )
    assert build["buildStatus"] == "SUCCEEDED"
    lines = log_lines(client, build)
    assert "POSIX-ON" in lines
    assert any("env/shell /bin/sh" in line for line in lines)


def test_shell_bash_is_the_default(cb, client):
    build = run(
        cb,
        "version: 0.2\nenv:\n  shell: bash\nphases:\n  build:\n    commands:\n"
        "      - '[ -o posix ] || echo NOT-POSIX'\n",
    )
    assert "NOT-POSIX" in log_lines(client, build)


def test_run_as_proxy_and_git_credential_helper_are_explained(cb, client):
    build = run(
        cb,
        "version: 0.2\nrun-as: builder\nenv:\n  shell: powershell.exe\n"
        "  git-credential-helper: yes\nproxy:\n  upload-artifacts: yes\n  logs: no\n"
        "phases:\n  install:\n    run-as: installer\n    commands:\n      - echo hi\n",
    )
    assert build["buildStatus"] == "SUCCEEDED"
    text = "\n".join(log_lines(client, build))
    assert "run-as builder: offline the commands run as your own user" in text
    assert "phases/install/run-as installer" in text
    assert "proxy (upload-artifacts: yes, logs: no) accepted" in text
    assert "env/git-credential-helper yes" in text
    assert "powershell.exe is a Windows shell" in text


@pytest.mark.parametrize(
    "keys",
    ["env:\n  shell: zsh\n", "proxy:\n  sideways: yes\n", "run-as:\n  - a\n"],
)
def test_bad_values_fail_the_build_as_yaml_errors(cb, keys):
    build = run(cb, f"version: 0.2\n{keys}phases:\n  build:\n    commands:\n      - echo hi\n")
    assert build["buildStatus"] == "FAILED"
    source = next(p for p in build["phases"] if p["phaseType"] == "DOWNLOAD_SOURCE")
    assert source["contexts"][0]["statusCode"] == "YAML_FILE_ERROR"
