"""What several learner helpers share about AWS itself: the offline account, service roles.

Kept apart from lab.py (which chooses the mode and makes clients) so that the helpers of
each lab can use it without importing one another.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from .lab import Kit

# A boto3 client. boto3 makes a client's methods at run time from the API model, so there is
# no static type to name (boto3-stubs would give one; the kit does without).
Client: TypeAlias = Any
# kit.client, or anything that makes a client for a service name.
ClientFor: TypeAlias = Callable[[str], Client]

# The account the local AWS (moto) serves, offline.
OFFLINE_ACCOUNT_ID = "123456789012"


def service_trust_policy(service: str) -> dict:
    """A trust policy that lets service (e.g. codedeploy.amazonaws.com) assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        ],
    }


def create_role_named_by(iam: Client, arn: str, service: str) -> str:
    """The role arn names, trusting service, made if the account lacks it (an existing one
    is left as it is); arn. For the kit's tests and benchmarks, whose pipelines name a role
    that CreatePipeline refuses unless it exists (pipelines-create.md)."""
    try:
        iam.create_role(
            RoleName=arn.rsplit("/", 1)[-1],
            AssumeRolePolicyDocument=json.dumps(service_trust_policy(service)),
        )
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    return arn


def ensure_role(
    kit: Kit,
    name: str,
    trust: dict,
    description: str,
    inline_policy: tuple[str, dict] | None = None,
    created_note: str | None = "",
) -> tuple[str, bool]:
    """The role's ARN, and True when this call made it (tagged, with the trust policy; an
    existing role keeps its own). inline_policy, (name, document), is (re)written every
    time, so it always matches what the caller asks for. On creation this prints
    "Created role <name><created_note>", or nothing when created_note is None."""
    iam = kit.client("iam")
    try:
        arn, made = iam.get_role(RoleName=name)["Role"]["Arn"], False
    except iam.exceptions.NoSuchEntityException:
        arn = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust),
            Description=description,
            Tags=kit.tag_list(),
        )["Role"]["Arn"]
        made = True
        if created_note is not None:
            print(f"Created role {name}{created_note}")
    if inline_policy is not None:
        policy_name, document = inline_policy
        iam.put_role_policy(
            RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document)
        )
    return arn, made
