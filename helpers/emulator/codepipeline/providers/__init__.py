"""Action providers: one small module per kind of action the engine can run offline.

A provider is a function run(ctx: ActionContext) that does the action's work and returns
normally for success or raises ActionFailed. The engine looks it up by the action type
(category, owner, provider); adding an action type means adding an entry to PROVIDERS.
Custom and ThirdParty actions all go to job_worker.run: a job for an outside worker.
"""

from __future__ import annotations

from collections.abc import Callable

from . import approval, codebuild, codecommit, codedeploy, job_worker, s3_deploy, s3_source
from .base import ActionContext, ActionFailed

Provider = Callable[[ActionContext], None]

PROVIDERS: dict[tuple[str, str, str], Provider] = {
    ("Source", "AWS", "CodeCommit"): codecommit.run,
    ("Source", "AWS", "S3"): s3_source.run,
    ("Build", "AWS", "CodeBuild"): codebuild.run,
    ("Test", "AWS", "CodeBuild"): codebuild.run,
    ("Deploy", "AWS", "CodeDeploy"): codedeploy.run,
    ("Deploy", "AWS", "S3"): s3_deploy.run,
    ("Approval", "AWS", "Manual"): approval.run,
}


def find(type_id: dict) -> Provider:
    if type_id["owner"] in ("Custom", "ThirdParty"):
        return job_worker.run  # a job worker outside the engine does the work
    key = (type_id["category"], type_id["owner"], type_id["provider"])
    return PROVIDERS.get(key, cannot_run)


def cannot_run(ctx: ActionContext) -> None:
    type_id = ctx.action_type_id
    raise ActionFailed(
        f"The lab kit cannot run {type_id['owner']} {type_id['provider']} "
        f"{type_id['category']} actions offline (it runs CodeCommit and S3 sources, "
        "CodeBuild builds and tests, CodeDeploy and S3 deployments and manual approvals).")


__all__ = ["PROVIDERS", "ActionContext", "ActionFailed", "find"]
