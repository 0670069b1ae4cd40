"""V2 triggers on a git push (helpers/emulator/codepipeline/git_triggers.py) and V2
pipeline-level variables, as the CodePipeline user guide documents them: pipelines-triggers,
pipelines-filter, pipelines-filter-cli, syntax-glob; the model's limits refused with its
error names."""

from __future__ import annotations

import copy

import pytest
from botocore.exceptions import ClientError

from helpers.emulator.codepipeline import git_triggers
from helpers.emulator.codepipeline.git_triggers import PushEvent, glob_matches, matching_trigger
from tests.pipelines import build_action, declaration, env_variables, source_action

CONNECTION = "arn:aws:codeconnections:us-east-1:123456789012:connection/1234abcd-12ab-34cd-56ef"
REPOSITORY = "octo/app"


def connection_source(name: str = "Source", **config) -> dict:
    return {
        "name": name,
        "actionTypeId": {
            "category": "Source",
            "owner": "AWS",
            "provider": "CodeStarSourceConnection",
            "version": "1",
        },
        "configuration": {
            "ConnectionArn": CONNECTION,
            "FullRepositoryId": REPOSITORY,
            "BranchName": "main",
            **config,
        },
        "outputArtifacts": [{"name": "SourceOutput"}],
        "runOrder": 1,
    }


def pipeline(triggers: list | None = None, pipeline_type: str = "V2", **config) -> dict:
    stages = [
        {"name": "Source", "actions": [connection_source(**config)]},
        {"name": "Build", "actions": [build_action()]},
    ]
    extra = {"pipelineType": pipeline_type}
    if triggers is not None:
        extra["triggers"] = triggers
    return declaration(stages=stages, **extra)


def trigger(push=None, pull_request=None, source: str = "Source") -> dict:
    configuration: dict = {"sourceActionName": source}
    if push is not None:
        configuration["push"] = push
    if pull_request is not None:
        configuration["pullRequest"] = pull_request
    return {"providerType": "CodeStarSourceConnection", "gitConfiguration": configuration}


def branch(name: str, *files: str, old: str | None = "a" * 40, **extra) -> PushEvent:
    return PushEvent(REPOSITORY, "branch", name, "b" * 40, old, tuple(files), **extra)


def tag(name: str) -> PushEvent:
    return PushEvent(REPOSITORY, "tag", name, "c" * 40)


WEBHOOK = {"triggerType": "Webhook", "triggerDetail": CONNECTION}
WEBHOOK_V2 = {"triggerType": "WebhookV2", "triggerDetail": CONNECTION}

CASES = [
    # pipelines-triggers.md: "No filter: This trigger configuration starts your pipeline on
    # any push to the default branch specified as part of action configuration."
    ("no trigger, push to BranchName", pipeline(), branch("main"), WEBHOOK),
    ("no trigger, another branch", pipeline(), branch("dev"), None),
    ("no trigger, a tag", pipeline(), tag("v1"), None),
    ("trigger without filter", pipeline([trigger()]), branch("main"), WEBHOOK),
    ("trigger without filter, other branch", pipeline([trigger()]), branch("dev"), None),
    # "Do not detect changes: This does not add a trigger and the pipeline does not start
    # automatically on any change."
    ("DetectChanges false", pipeline(DetectChanges="false"), branch("main"), None),
    # pipelines-filter.md: "For a pipeline where triggers are used to filter branches by
    # push or pull request, the pipeline won't use the default BranchName field branch"
    (
        "branch filter ignores BranchName",
        pipeline([trigger([{"branches": {"includes": ["release/**"]}}])]),
        branch("main"),
        None,
    ),
    (
        "branch filter, nested branch with **",
        pipeline([trigger([{"branches": {"includes": ["release/**"]}}])]),
        branch("release/2024/05"),
        WEBHOOK_V2,
    ),
    # syntax-glob.md: "*" is "zero or more characters of a name component in directory
    # boundaries"
    (
        "branch filter, * stays in its component",
        pipeline([trigger([{"branches": {"includes": ["feature/*"]}}])]),
        branch("feature/a/b"),
        None,
    ),
    (
        "branch filter, * matches one component",
        pipeline([trigger([{"branches": {"includes": ["feature/*"]}}])]),
        branch("feature/login"),
        WEBHOOK_V2,
    ),
    # "The branchesExcludes takes priority over the branchesIncludes" (API/CDK reference)
    (
        "excludes win over includes",
        pipeline([trigger([{"branches": {"includes": ["**"], "excludes": ["main"]}}])]),
        branch("main"),
        None,
    ),
    (
        "excludes only: the rest is included",
        pipeline([trigger([{"branches": {"excludes": ["main"]}}])]),
        branch("dev"),
        WEBHOOK_V2,
    ),
    # "AND operation inside filters": branch and file paths must both match
    (
        "branches + file paths, no matching file",
        pipeline(
            [
                trigger(
                    [
                        {
                            "branches": {"includes": ["main"]},
                            "filePaths": {"includes": ["src/**"], "excludes": ["**/*.md"]},
                        }
                    ]
                )
            ]
        ),
        branch("main", "README.md", "src/notes.md"),
        None,
    ),
    (
        "branches + file paths, one matching file",
        pipeline(
            [
                trigger(
                    [
                        {
                            "branches": {"includes": ["main"]},
                            "filePaths": {"includes": ["src/**"], "excludes": ["**/*.md"]},
                        }
                    ]
                )
            ]
        ),
        branch("main", "README.md", "src/app/main.py"),
        WEBHOOK_V2,
    ),
    (
        "file paths on another branch",
        pipeline(
            [trigger([{"branches": {"includes": ["main"]}, "filePaths": {"includes": ["**"]}}])]
        ),
        branch("dev", "src/app.py"),
        None,
    ),
    # "You can filter push triggers on branches, file paths, or Git tags."
    (
        "tag filter, matching tag",
        pipeline([trigger([{"tags": {"includes": ["v*"]}}])]),
        tag("v1.2.0"),
        WEBHOOK_V2,
    ),
    (
        "tag filter, a branch of the same name",
        pipeline([trigger([{"tags": {"includes": ["v*"]}}])]),
        branch("v1"),
        None,
    ),
    # "The tagsExcludes takes priority over the tagsIncludes"
    (
        "tag excludes win",
        pipeline([trigger([{"tags": {"includes": ["v*"], "excludes": ["v*-rc*"]}}])]),
        tag("v2.0-rc1"),
        None,
    ),
    # pipelines-filter-cli.md: "an OR operation between different push filters"
    (
        "OR between filters, the tag one",
        pipeline([trigger([{"tags": {"includes": ["v*"]}}, {"branches": {"includes": ["main"]}}])]),
        tag("v3"),
        WEBHOOK_V2,
    ),
    (
        "OR between filters, the branch one",
        pipeline([trigger([{"tags": {"includes": ["v*"]}}, {"branches": {"includes": ["main"]}}])]),
        branch("main"),
        WEBHOOK_V2,
    ),
    # "Specify filter ... configures the pipeline not to start automatically on any change"
    # (DetectChanges false); the filter itself still starts it
    (
        "filter with DetectChanges false",
        pipeline([trigger([{"branches": {"includes": ["main"]}}])], DetectChanges="false"),
        branch("main"),
        WEBHOOK_V2,
    ),
    (
        "pull request trigger only: a push is no pull request",
        pipeline([trigger(pull_request=[{"branches": {"includes": ["main"]}}])]),
        branch("main"),
        None,
    ),
    (
        "a deleted branch starts nothing",
        pipeline(),
        PushEvent(REPOSITORY, "branch", "main", None),
        None,
    ),
    (
        "another repository",
        pipeline(),
        PushEvent("octo/other", "branch", "main", "b" * 40),
        None,
    ),
    (
        "another connection",
        pipeline(),
        branch("main", connection_arn=CONNECTION.replace("1234abcd", "99999999")),
        None,
    ),
    ("the same connection", pipeline(), branch("main", connection_arn=CONNECTION), WEBHOOK),
]


@pytest.mark.parametrize(
    "declared, event, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_documented_push_cases(declared, event, expected):
    assert matching_trigger(declared, event) == expected


def test_match_names_the_source_action_and_revision():
    declared = pipeline([trigger([{"tags": {"includes": ["v*"]}}])])
    match = git_triggers.match_push(declared, tag("v1"))
    assert match is not None
    assert (match.source_action_name, match.revision, match.ref_type, match.ref_name) == (
        "Source",
        "c" * 40,
        "tag",
        "v1",
    )


GLOBS = [
    # syntax-glob.md's examples and rules, one by one
    ("*.java", "Main.java", True),
    ("*.java", "src/Main.java", False),
    ("*.*", "a.b", True),
    ("*.{java,class}", "A.class", True),
    ("*.{java,class}", "A.kt", False),
    ("foo.?", "foo.c", True),
    ("foo.?", "foo.cc", False),
    ("?", "/", False),
    ("**", "any/depth/at/all", True),
    ("directory/**", "directory/a/b.txt", True),
    ("directory/*", "directory/a.txt", True),
    ("directory/*", "directory/a/b.txt", False),
    ("my-file.jar", "my-file.jar", True),
    ("directory/subdirectory/my-file.jar", "directory/subdirectory/my-file.jar", True),
    ("[abc].txt", "b.txt", True),
    ("[a-c].txt", "d.txt", False),
    ("[!a-c].txt", "d.txt", True),
    ("[-a].txt", "-.txt", True),
    ("[*?].txt", "?.txt", True),
    ("\\*.txt", "*.txt", True),
    ("\\*.txt", "a.txt", False),
    ("**/README.md", "docs/README.md", True),
    ("release-v1", "release-v1", True),
    ("release-v1", "release-v10", False),
]


@pytest.mark.parametrize("pattern, name, expected", GLOBS)
def test_glob_rules(pattern, name, expected):
    assert glob_matches(pattern, name) is expected


@pytest.mark.parametrize("pattern", ["[abc", "{a,{b}}", "{a,b", "abc\\"])
def test_unreadable_globs(pattern):
    with pytest.raises(git_triggers.GlobSyntaxError):
        git_triggers.compile_glob(pattern)


def test_pull_request_notice():
    assert (
        git_triggers.pull_request_notice(pipeline([trigger([{"tags": {"includes": ["v"]}}])]))
        is None
    )
    notice = git_triggers.pull_request_notice(
        pipeline([trigger(pull_request=[{"branches": {"includes": ["main"]}}])])
    )
    assert notice is not None and "pull request" in notice


# -- CreatePipeline / UpdatePipeline ------------------------------------------------------


def create_error(lab, declared: dict) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        lab.cp.create_pipeline(pipeline=declared)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_valid_triggers_are_stored(lab):
    triggers = [
        trigger(
            [
                {"tags": {"includes": ["v*"], "excludes": ["v*-rc*"]}},
                {"branches": {"includes": ["main"]}, "filePaths": {"excludes": ["docs/**"]}},
            ],
            [{"events": ["OPEN", "UPDATED"], "branches": {"includes": ["main"]}}],
        )
    ]
    lab.cp.create_pipeline(pipeline=pipeline(triggers))
    stored = lab.cp.get_pipeline(name="lab-pipeline")["pipeline"]["triggers"]
    assert stored == triggers


def many(count: int) -> list[str]:
    return [f"p{i}" for i in range(count)]


REFUSED = [
    # the model's limits (GitPushFilterList max 3, pattern lists max 8, pattern length 255,
    # the pull request events enum, providerType enum), checked with each request
    (
        "4 push filters",
        [trigger([{"branches": {"includes": ["main"]}}] * 4)],
        "ValidationException",
    ),
    ("9 patterns", [trigger([{"branches": {"includes": many(9)}}])], "ValidationException"),
    (
        "a 256-character pattern",
        [trigger([{"tags": {"includes": ["v" * 256]}}])],
        "ValidationException",
    ),
    (
        "an unknown pull request event",
        [trigger(pull_request=[{"events": ["MERGED"], "branches": {"includes": ["main"]}}])],
        "ValidationException",
    ),
    (
        "4 pull request filters",
        [trigger(pull_request=[{"branches": {"includes": ["main"]}}] * 4)],
        "ValidationException",
    ),
    # pipelines-filter.md: "Valid combinations are: tags, branches, branches + file paths"
    (
        "file paths without branches",
        [trigger([{"filePaths": {"includes": ["src/**"]}}])],
        "ValidationException",
    ),
    (
        "tags with branches",
        [trigger([{"tags": {"includes": ["v*"]}, "branches": {"includes": ["main"]}}])],
        "ValidationException",
    ),
    ("an empty push filter", [trigger([{}])], "ValidationException"),
    (
        "a pull request filter without branches",
        [trigger(pull_request=[{"filePaths": {"includes": ["src/**"]}}])],
        "ValidationException",
    ),
    (
        "an unreadable glob",
        [trigger([{"branches": {"includes": ["feature/[abc"]}}])],
        "ValidationException",
    ),
    # "Triggers for connection must reference a CodeStarSourceConnection action. Note that
    # when you specify a trigger, you cant specify more than one trigger per source action."
    ("an unknown source action", [trigger(source="Nope")], "InvalidStructureException"),
    ("two triggers on one action", [trigger(), trigger()], "InvalidStructureException"),
]


@pytest.mark.parametrize(
    "triggers, expected", [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_refused_triggers(lab, triggers, expected):
    assert create_error(lab, pipeline(triggers))[0] == expected
    assert lab.cp.list_pipelines()["pipelines"] == []


def test_triggers_only_on_connection_sources_and_v2(lab):
    codecommit = declaration(pipelineType="V2", triggers=[trigger()])
    code, message = create_error(lab, codecommit)
    assert code == "InvalidStructureException"
    assert "must reference a CodeStarSourceConnection action" in message
    assert create_error(lab, pipeline([trigger()], pipeline_type="V1"))[0] == "ValidationException"


def test_update_pipeline_checks_triggers_too(lab):
    lab.cp.create_pipeline(pipeline=pipeline())
    updated = pipeline([trigger([{"filePaths": {"includes": ["src/**"]}}])])
    with pytest.raises(ClientError) as caught:
        lab.cp.update_pipeline(pipeline=updated)
    assert caught.value.response["Error"]["Code"] == "ValidationException"


# -- the backend: a push starts the pipelines it matches ----------------------------------


def test_connection_push_starts_matching_pipelines(lab):
    from helpers.emulator.codepipeline.models import codepipeline_lab_backends

    lab.cp.create_pipeline(pipeline=pipeline([trigger([{"tags": {"includes": ["v*"]}}])]))
    other = copy.deepcopy(pipeline())
    other["name"] = "default-detection"
    lab.cp.create_pipeline(pipeline=other)
    backend = codepipeline_lab_backends["123456789012"]["us-east-1"]

    started = backend.on_connection_push(tag("v1"))
    assert [e.pipeline.name for e in started] == ["lab-pipeline"]
    summary = lab.summaries()[0]
    assert summary["pipelineExecutionId"] == started[0].id
    assert summary["trigger"] == WEBHOOK_V2
    assert started[0].source_revisions == {"Source": "c" * 40}

    started = backend.on_connection_push(branch("main"))
    assert [e.pipeline.name for e in started] == ["default-detection"]
    assert lab.summaries("default-detection")[0]["trigger"] == WEBHOOK
    assert backend.on_connection_push(branch("dev")) == []


# -- pipeline-level variables ------------------------------------------------------------


def variables_pipeline(lab, variables: list[dict]) -> str:
    return lab.create(
        pipelineType="V2",
        variables=variables,
        stages=[
            {"name": "Source", "actions": [source_action()]},
            {
                "name": "Build",
                "actions": [
                    build_action(EnvironmentVariables=env_variables(EXTRA="#{variables.env}"))
                ],
            },
        ],
    )


def resolved_extra(lab, execution_id: str) -> str:
    build = lab.actions(execution_id)["Build"]
    return build["input"]["resolvedConfiguration"]["EnvironmentVariables"]


def test_variables_default_override_and_listing(lab):
    first = variables_pipeline(lab, [{"name": "env", "defaultValue": "dev", "description": "d"}])
    # the creation's execution takes the default
    assert lab.execution(first)["variables"] == [{"name": "env", "resolvedValue": "dev"}]
    assert '"value": "dev"' in resolved_extra(lab, first)
    second = lab.cp.start_pipeline_execution(
        name="lab-pipeline", variables=[{"name": "env", "value": "prod"}]
    )["pipelineExecutionId"]
    execution = lab.execution(second)
    assert execution["status"] == "Succeeded"
    assert execution["variables"] == [{"name": "env", "resolvedValue": "prod"}]
    assert '"value": "prod"' in resolved_extra(lab, second)
    summaries = lab.summaries()
    assert [s["pipelineExecutionId"] for s in summaries] == [second, first]
    assert summaries[0]["trigger"]["triggerType"] == "StartPipelineExecution"


def start_error(lab, **params) -> str:
    with pytest.raises(ClientError) as caught:
        lab.cp.start_pipeline_execution(name="lab-pipeline", **params)
    return caught.value.response["Error"]["Code"]


def test_variable_errors_at_start(lab):
    variables_pipeline(lab, [{"name": "env", "defaultValue": "dev"}, {"name": "region"}])
    assert start_error(lab, variables=[{"name": "nope", "value": "x"}]) == "ValidationException"
    twice = [
        {"name": "env", "value": "a"},
        {"name": "env", "value": "b"},
        {"name": "region", "value": "r"},
    ]
    assert start_error(lab, variables=twice) == "ValidationException"
    # no default and no value given
    assert start_error(lab, variables=[{"name": "env", "value": "x"}]) == "ValidationException"
    # the model: names match [A-Za-z0-9@\-_]+ (an empty value botocore refuses already)
    assert start_error(lab, variables=[{"name": "bad name", "value": "x"}]) == "ValidationException"
    ok = lab.cp.start_pipeline_execution(
        name="lab-pipeline", variables=[{"name": "region", "value": "eu"}]
    )["pipelineExecutionId"]
    assert lab.execution(ok)["variables"] == [
        {"name": "env", "resolvedValue": "dev"},
        {"name": "region", "resolvedValue": "eu"},
    ]


def test_automatic_start_without_a_value_fails_the_action_that_needs_it(lab):
    # CreatePipeline starts the pipeline: a variable with no default has no value then, and
    # the action referring to it fails on the unresolved reference (the pipeline is created)
    first = variables_pipeline(lab, [{"name": "env"}])
    execution = lab.execution(first)
    assert execution["status"] == "Failed"
    assert execution.get("variables", []) == []
    assert lab.cp.get_pipeline(name="lab-pipeline")["pipeline"]["variables"] == [{"name": "env"}]


def test_variable_declarations_refused(lab):
    def refused(variables, pipeline_type="V2", stages=None) -> str:
        with pytest.raises(ClientError) as caught:
            lab.cp.create_pipeline(
                pipeline=declaration(
                    pipelineType=pipeline_type,
                    variables=variables,
                    **({"stages": stages} if stages else {}),
                )
            )
        return caught.value.response["Error"]["Code"]

    assert refused([{"name": "a"}, {"name": "a"}]) == "ValidationException"
    assert refused([{"name": "a b"}]) == "ValidationException"
    assert refused([{"name": "x" * 129}]) == "ValidationException"
    assert refused([{"name": f"v{i}"} for i in range(51)]) == "ValidationException"
    assert refused([{"name": "a", "defaultValue": "x" * 1001}]) == "ValidationException"
    assert refused([{"name": "a"}], pipeline_type="V1") == "ValidationException"
    undeclared = [
        {"name": "Source", "actions": [source_action()]},
        {
            "name": "Build",
            "actions": [build_action(EnvironmentVariables=env_variables(X="#{variables.nope}"))],
        },
    ]
    assert refused([{"name": "a"}], stages=undeclared) == "InvalidActionDeclarationException"
    assert lab.cp.list_pipelines()["pipelines"] == []


def test_hostile_glob_matches_in_linear_time():
    # a regular expression would backtrack for ages on this pair; the position walk does not
    import time

    pattern = "**a" * 80 + "b"
    started = time.monotonic()
    assert not glob_matches(pattern, "a" * 2000)
    assert time.monotonic() - started < 2
