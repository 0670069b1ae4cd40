"""The whole course, as two learners take it at the same time against one local server.

Two learners (two prefixes) run every solution notebook concurrently against one shared
local server (as a class sharing a server or an account would), with the server recording
each API call. The first runs the solutions with strict checks (a check failing on its own
solution fails the run). The second is the learner who tries things: it runs the exercise
probes (tests/exercise_probes.py), each exercise's untouched cell and wrong answers with
the check before the solution, and every check must fail those and pass the solution.
Then: both succeeded, the classroom status sees both, each learner's teardown removes
exactly their own resources, and nothing of the kit's is left.
"""

from __future__ import annotations

import importlib.util
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from helpers import classroom
from helpers import teardown as td
from helpers.emulator.recorder import CallRecorder
from helpers.emulator.server import LocalServer
from tests import exercise_probes
from tests.signing import reset_local_aws

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
LEARNERS = ("labflowa", "labflowb")
PROBING = "labflowb"  # the learner who runs the exercise probes

pytestmark = pytest.mark.slow  # the module's fixture runs the whole course twice at once

spec = importlib.util.spec_from_file_location("teardown_cli_flow", ROOT / "teardown.py")
assert spec and spec.loader, "teardown.py is a Python file: it always has a loader"
teardown_cli = importlib.util.module_from_spec(spec)
spec.loader.exec_module(teardown_cli)


def take_the_course(endpoint: str, prefix: str) -> dict[str, list[list]]:
    """Run every solution notebook in order as one learner (the probing learner: each one's
    exercise probe); for each that ran, what its checks recorded (the probes')."""
    probing = prefix == PROBING
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "LAB_PREFIX": prefix,
        # strict: a check failing on its own solution fails the course; no-fallback: a
        # wrong answer's check fails without the solution's answer standing in for it
        "LAB_CHECKS": "no-fallback" if probing else "strict",
        "LAB_PACE_SECONDS": "0",  # nobody watches: lab.pace() does not slow the runs down
    }
    done = {}
    for path in SOLUTIONS:
        if probing:
            notebook, _ = exercise_probes.probe_notebook(path)
        else:
            notebook = nbformat.read(path, as_version=4)
        NotebookClient(
            notebook,
            timeout=900,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute(env=env)
        done[path.stem] = exercise_probes.history(notebook) if probing else []
    return done


@pytest.fixture(scope="module")
def course():
    # Lab 08's Lambda canary runs in this process's server: compress CodeDeploy's minutes
    # here (the notebook's lab.compress_minutes reaches only a server inside its kernel).
    os.environ.setdefault("LAB_CODEDEPLOY_TIME_SCALE", "0.01")
    server = LocalServer(moto_api=True).start()
    # moto keeps its state per process: servers in one pytest worker share it, so what
    # earlier tests on this worker left (test_teardown leaves foreign resources on
    # purpose) would be in this class's account. Start from an empty local AWS, as a
    # server of its own would (moto's documented reset; mock_aws does the same).
    reset_local_aws(server.endpoint)
    server.app.recorder = CallRecorder()
    try:
        with ThreadPoolExecutor(len(LEARNERS)) as pool:
            runs = dict(
                zip(
                    LEARNERS,
                    pool.map(lambda prefix: take_the_course(server.endpoint, prefix), LEARNERS),
                    strict=True,
                )
            )
        yield server, runs
    finally:
        server.stop()


def clients(endpoint: str):
    import boto3

    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    return td.cached_clients(
        lambda service, region: session.client(service, region_name=region, endpoint_url=endpoint)
    )


def test_both_learners_finish_every_notebook(course):
    _, runs = course
    assert {prefix: list(run) for prefix, run in runs.items()} == {
        prefix: [p.stem for p in SOLUTIONS] for prefix in LEARNERS
    }


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_each_check_fails_the_untouched_lab_and_wrong_answers_and_passes_the_solution(course, path):
    _, runs = course
    _, expected = exercise_probes.probe_notebook(path)
    assert runs[PROBING][path.stem] == expected


def test_course_uses_every_service(course):
    server, _ = course
    services = {action.split(":")[0] for action in server.app.recorder.actions}
    assert {
        "codecommit",
        "codebuild",
        "codedeploy",
        "codepipeline",
        "s3",
        "iam",
        "logs",
        "ec2",
        "events",  # lab 04's push rule; lab 07's pull request, build and notification rules
        "sns",  # lab 07's notifications
        "sqs",
        "codeconnections",  # lab 08: the connection to the local "GitHub"
        "cloudformation",  # lab 08's deploy action
        "lambda",  # lab 08's test, hooks and canary
    } <= services


def test_classroom_status_reports_both_learners(course):
    server, _ = course
    recorder, server.app.recorder = server.app.recorder, None  # an instructor's calls
    try:
        report = classroom.status(clients(server.endpoint), ["us-east-1"])
    finally:
        server.app.recorder = recorder
    for prefix in LEARNERS:
        assert report[prefix]["complete"] == list(classroom.LAB_CHECKS), report[prefix]
        assert report[prefix]["resources"] > 0


def test_each_learner_sees_only_their_own(course):
    server, _ = course
    client_for = clients(server.endpoint)
    plans = {
        prefix: td.find_all(client_for, ["us-east-1"], td.Scope(prefix))[0] for prefix in LEARNERS
    }
    for prefix, plan in plans.items():
        assert plan, f"{prefix} has nothing"
        assert {r.owner for r in plan} == {prefix}
        assert all(prefix in r.name or r.service == "ec2" for r in plan)


def test_teardown_per_learner_then_nothing_left(course, capsys, monkeypatch):
    server, _ = course
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    first, second = LEARNERS
    monkeypatch.setenv("LAB_PREFIX", first)
    assert teardown_cli.main(["--yes"]) == 0, capsys.readouterr().out
    # The other learner's resources are untouched by the first one's teardown.
    left = td.find_all(clients(server.endpoint), ["us-east-1"], td.Scope(second))[0]
    assert left and {r.owner for r in left} == {second}
    monkeypatch.setenv("LAB_PREFIX", second)
    assert teardown_cli.main(["--yes"]) == 0, capsys.readouterr().out
    capsys.readouterr()
    assert teardown_cli.main(["--all-learners"]) == 0
    assert "Nothing of the kit's to delete." in capsys.readouterr().out


def test_learner_policy_allows_every_call_and_nothing_more(course):
    """docs/learner-policy.json against the calls of the whole course (run last: after
    teardown, whose calls learners make too). Regenerate it: python tools/make_policy.py"""
    import json

    from tools.make_policy import AWS_MODE_ONLY, IMPLIED, iam_action

    server, _ = course
    # IAM's names of the calls (lambda:Invoke is lambda:InvokeFunction in IAM)
    recorded = {iam_action(action) for action in server.app.recorder.actions}
    policy = json.loads((ROOT / "docs" / "learner-policy.json").read_text())
    allowed = {
        action
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow"
        for action in statement["Action"]
    }
    assert not [a for a in allowed if "*" in a], "no wildcard actions"
    assert recorded - allowed == set(), "the policy lacks actions the course calls"
    implied = {extra for action in recorded for extra in IMPLIED.get(action, [])}
    implied |= set(AWS_MODE_ONLY)
    assert allowed - recorded - implied == set(), "the policy allows actions nobody calls"


# The CodePipeline verbs of the seed document the kit was made from: every one must be
# called when the labs run.
SEED_VERBS = """acknowledge-job acknowledge-third-party-job disable-stage-transition
enable-stage-transition get-job-details get-pipeline-execution get-pipeline-state
get-third-party-job-details list-action-executions list-action-types
list-pipeline-executions poll-for-jobs poll-for-third-party-jobs put-action-revision
put-approval-result put-job-failure-result put-job-success-result
put-third-party-job-failure-result put-third-party-job-success-result
retry-stage-execution start-pipeline-execution create-pipeline get-pipeline
list-pipelines update-pipeline delete-pipeline create-custom-action-type
delete-custom-action-type put-webhook list-webhooks delete-webhook
register-webhook-with-third-party deregister-webhook-with-third-party""".split()


def test_every_seed_verb_is_called_by_the_labs(course):
    server, _ = course
    called = {a.split(":")[1] for a in server.app.recorder.actions if a.startswith("codepipeline:")}
    wanted = {"".join(part.title() for part in verb.split("-")) for verb in SEED_VERBS}
    assert wanted - called == set()
