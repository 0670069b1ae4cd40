"""Pre-flight: can this account use CodeCommit, CodeBuild, CodeDeploy and CodePipeline here?

Lab 00 runs it before anything is created. Each check is one read-only call; the advice
for a failure points at docs/troubleshooting.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

GUIDE = "docs/troubleshooting.md"

CHECKS = {
    "codecommit": ("list_repositories", {}),
    "codebuild": ("list_projects", {}),
    "codedeploy": ("list_applications", {}),
    "codepipeline": ("list_pipelines", {}),
    "s3": ("list_buckets", {}),
    "iam": ("list_roles", {"MaxItems": 1}),
}


@dataclass
class Result:
    service: str
    ok: bool
    advice: str = ""

    def __str__(self) -> str:
        mark = "\u2714" if self.ok else "\u2718"
        return f"{mark} {self.service:<13} {'usable' if self.ok else self.advice}"


def advice_for(service: str, error: Exception) -> str:
    if isinstance(error, EndpointConnectionError):
        return (
            f"{service} has no endpoint in this region: choose another region "
            f"(LAB_REGION). See {GUIDE}#service-not-in-region"
        )
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if service == "codecommit" and code in (
            "OperationNotAllowedException",
            "AccessDeniedException",
            "AccessDenied",
        ):
            return (
                f"{code}: CodeCommit may be closed to this account (AWS closed it to new "
                "customers from July 2024 to November 2025) or your policy lacks it; "
                f"use an S3 source instead. See {GUIDE}#codecommit-unavailable"
            )
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
            return (
                f"{code}: your IAM identity may not call {service}; ask your instructor "
                f"for the learner policy. See {GUIDE}#access-denied"
            )
        if code in ("SubscriptionRequiredException", "OptInRequired"):
            return f"{code}: the account is not signed up for {service}. See {GUIDE}#opt-in"
        return f"{code}: {error}"
    return repr(error)


def run(kit) -> list[Result]:
    """One read-only call per service; nothing is created."""
    results = []
    for service, (operation, params) in CHECKS.items():
        try:
            getattr(kit.client(service), operation)(**params)
            results.append(Result(service, True))
        except (ClientError, BotoCoreError) as error:
            results.append(Result(service, False, advice_for(service, error)))
    return results


def report(kit) -> bool:
    """Print one line per service; True when all are usable."""
    results = run(kit)
    for result in results:
        print(result)
    return all(r.ok for r in results)
