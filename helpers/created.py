"""The kit's own record of what the labs created where AWS offers no tags.

CodeDeploy deployment configurations take no tags, so teardown cannot tell the kit's from
someone else's by looking at them. lab.setup() hooks the session so that every such
resource the labs create is written down here (one file per learner prefix in the state
folder); teardown deletes those, and only those. CodeBuild projects are written down too:
the log groups and report groups CodeBuild makes for a project carry no tags either.
"""

from __future__ import annotations

import json
import threading

from . import settings

# (service, operation) -> (kind, request parameter holding the name)
RECORDED_CREATES = {
    ("codedeploy", "CreateDeploymentConfig"): ("deployment config", "deploymentConfigName"),
    ("codebuild", "CreateProject"): ("codebuild project", "name"),
}

_lock = threading.Lock()


def _folder():
    path = settings.state_dir() / "created"
    path.mkdir(parents=True, exist_ok=True)
    return path


def remember(prefix: str, kind: str, name: str, region: str) -> None:
    line = json.dumps({"kind": kind, "name": name, "region": region})
    with _lock, open(_folder() / f"{prefix}.jsonl", "a") as record:
        record.write(line + "\n")


def recorded(prefix: str | None = None) -> dict[tuple[str, str, str], str]:
    """(kind, name, region) -> owner prefix, for one learner or (None) every learner."""
    files = [_folder() / f"{prefix}.jsonl"] if prefix else sorted(_folder().glob("*.jsonl"))
    found = {}
    for path in files:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            try:
                item = json.loads(line)
                found[item["kind"], item["name"], item["region"]] = path.stem
            except (ValueError, KeyError):
                continue  # a torn line: ignore it, the rest still counts
    return found


def watch(session, prefix: str) -> None:
    """Write down each untaggable resource created through this boto3 session."""

    def note_name(params, model, context, **_):
        kind, key = RECORDED_CREATES[model.service_model.service_name, model.name]
        context["lab_kit_created"] = (kind, params.get(key))

    def after_call(http_response, context, **_):
        kind, name = context.get("lab_kit_created", (None, None))
        if name and http_response.status_code < 300:
            remember(prefix, kind, name, context.get("client_region") or "")

    for service, operation in RECORDED_CREATES:
        session.events.register(f"before-parameter-build.{service}.{operation}", note_name,
                                unique_id=f"lab-kit-name-{service}-{operation}")
        session.events.register(f"after-call.{service}.{operation}", after_call,
                                unique_id=f"lab-kit-record-{service}-{operation}")
