"""The one module that knows moto's internals: its backends, their objects and exceptions.

The kit reads and writes moto's state (S3 objects, IAM keys and roles, STS sessions, SSM
parameters, secrets, log events, EC2 instances, CloudWatch alarms, CloudFormation stacks)
through these named functions, so that a moto upgrade that moves or renames something is
one file's work. Each catches only the exceptions moto documents for the case it names;
anything else is a bug and goes up as it is (save a stack's resources: whatever their
service raised is the reason of AWS's CREATE_FAILED, see the CloudFormation section).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from moto.cloudformation.exceptions import CloudFormationError
from moto.cloudformation.models import Event as MotoEvent
from moto.cloudformation.models import Stack as MotoStack
from moto.cloudformation.models import cloudformation_backends
from moto.cloudformation.parsing import resource_class_from_type
from moto.cloudformation.utils import generate_stack_id
from moto.cloudwatch.models import cloudwatch_backends
from moto.ec2.models import ec2_backends
from moto.iam.exceptions import NotFoundException as IamNotFound
from moto.iam.models import iam_backends
from moto.logs.exceptions import LogsClientError
from moto.logs.models import logs_backends
from moto.s3.exceptions import S3ClientError
from moto.s3.models import FakeKey, s3_backends
from moto.secretsmanager.exceptions import SecretsManagerClientError
from moto.secretsmanager.models import secretsmanager_backends
from moto.ssm.exceptions import SSMException
from moto.ssm.models import ssm_backends
from moto.sts.models import sts_backends

from . import input_transformer

log = logging.getLogger(__name__)

# moto keeps global services (S3, IAM, STS) per partition; "global" is its older alias.
PARTITION = "aws"


# --- S3 ---------------------------------------------------------------------------------


class S3Refused(LookupError):
    """moto's S3 refused a bucket or object; reason names moto's error (MissingBucket,
    AccessDeniedByLock...), as the kit's messages have always shown it."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(f"{reason}: {message}" if message else reason)
        self.reason = reason


@dataclass(frozen=True)
class S3Object:
    """One version of an object of the local S3, read."""

    key: str
    data: bytes
    etag: str | None
    version_id: str | None
    last_modified: dt.datetime | None
    metadata: dict[str, str]  # the user metadata (x-amz-meta-*), by name without the prefix


def _s3(account: str) -> Any:
    return s3_backends[account][PARTITION]


def _refused(error: S3ClientError) -> S3Refused:
    return S3Refused(type(error).__name__, str(error))


def bucket_exists(account: str, bucket: str) -> bool:
    """The bucket is one the account can reach (its own, or one moto lets it share)."""
    try:
        _s3(account).get_bucket(bucket)
    except S3ClientError:
        return False
    return True


def owns_bucket(account: str, bucket: str) -> bool:
    """The bucket is the account's own (another account's bucket does not count)."""
    return bucket in _s3(account).buckets


def get_object(account: str, bucket: str, key: str, version: str | None = None) -> S3Object | None:
    """The object (that version of it), None when the bucket has no such object, S3Refused
    when the bucket cannot be read (missing, another account's)."""
    try:
        item = _s3(account).get_object(bucket, key, version_id=version)
    except S3ClientError as error:
        raise _refused(error) from None
    if item is None:
        return None
    prefix = "x-amz-meta-"
    metadata = {k[len(prefix) :]: v for k, v in item.metadata.items() if k.startswith(prefix)}
    return S3Object(
        item.name,
        item.value,
        item.etag,
        item.version_id,
        getattr(item, "last_modified", None),
        metadata,
    )


def objects_under(account: str, bucket: str, prefix: str) -> Iterator[tuple[str, bytes]]:
    """(key, data) of the current objects whose key starts with prefix, folders ("a/")
    and deleted objects left out; S3Refused when the bucket cannot be read."""
    try:
        items = list(_s3(account).get_bucket(bucket).keys.values())
    except S3ClientError as error:
        raise _refused(error) from None
    for item in items:
        if (
            isinstance(item, FakeKey)
            and item.name.startswith(prefix)
            and not item.name.endswith("/")
        ):
            yield item.name, item.value


def put_object(
    account: str, bucket: str, key: str, data: bytes, metadata: dict[str, str] | None = None
) -> None:
    """Store data under key (with user metadata, x-amz-meta-*); S3Refused when the bucket
    cannot be written."""
    try:
        item = _s3(account).put_object(bucket, key, data)
    except S3ClientError as error:
        raise _refused(error) from None
    if metadata:
        item.set_metadata(metadata)


def delete_object(account: str, bucket: str, key: str) -> None:
    """Delete the object (a CodeBuild cache archive, a batch's staged artifacts): a delete
    marker in a versioned bucket; a missing bucket or object is no error, as for S3's
    DeleteObject."""
    try:
        _s3(account).delete_object(bucket, key)
    except (S3ClientError, KeyError):
        pass


# --- IAM and STS --------------------------------------------------------------------------


@dataclass(frozen=True)
class IamKey:
    """An access key moto's IAM knows: a user's (user_name set) or an assumed role's."""

    access_key: str
    secret_key: str
    account_id: str
    partition: str
    user_name: str | None
    active: bool


@dataclass(frozen=True)
class IamUser:
    arn: str
    user_id: str


@dataclass(frozen=True)
class AssumedRole:
    secret_key: str
    account_id: str
    arn: str
    user_id: str
    session_token: str
    expires: dt.datetime  # aware, UTC


def iam_access_key(access_key: str) -> IamKey | None:
    """The key in whichever account and partition moto's IAM holds it; None: not known."""
    for account_id, account in list(iam_backends.items()):
        for partition, backend in list(account.items()):
            key = backend.access_keys.get(access_key)
            if key is not None:
                return IamKey(
                    access_key,
                    key.secret_access_key,
                    account_id,
                    partition,
                    key.user_name,
                    key.status == "Active",
                )
    return None


def iam_user(key: IamKey) -> IamUser | None:
    """The user owning key, None when it has been deleted."""
    if key.user_name is None:
        return None
    user = iam_backends[key.account_id][key.partition].users.get(key.user_name)
    return None if user is None else IamUser(user.arn, user.id)


def iam_role_trust_policy(account: str, role_name: str) -> Any | None:
    """The role's trust policy document (as moto stores it), None: no such role."""
    try:
        role = iam_backends[account][PARTITION].get_role(role_name)
    except IamNotFound:
        return None
    return role.assume_role_policy_document


def assumed_role(key: IamKey) -> AssumedRole | None:
    """The STS session key belongs to, None when STS does not know it."""
    role = sts_backends[key.account_id][key.partition].get_assumed_role_from_access_key(
        key.access_key
    )
    if role is None:
        return None
    expires = role.expiration
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=dt.timezone.utc)
    return AssumedRole(
        role.secret_access_key, role.account_id, role.arn, role.user_id, role.session_token, expires
    )


def assume_role(
    role_arn: str, session_name: str, duration: int, region: str
) -> tuple[str, str, str]:
    """AssumeRole in moto's STS: (access key, secret, session token)."""
    account = role_arn.split(":")[4]
    role = sts_backends[account][PARTITION].assume_role(
        region_name=region,
        role_session_name=session_name,
        role_arn=role_arn,
        # moto types these str, but its own STS responses pass None when the call has none.
        policy=None,  # type: ignore[arg-type]
        duration=duration,
        external_id=None,  # type: ignore[arg-type]
    )
    return role.access_key_id, role.secret_access_key, role.session_token


# --- SSM Parameter Store and Secrets Manager ---------------------------------------------


def ssm_parameter(account: str, region: str, name: str) -> str | None:
    """The parameter's value, decrypted (SecureString); None: no such parameter (or
    version)."""
    try:
        parameter = ssm_backends[account][region].get_parameter(name)
    except SSMException:
        return None
    if parameter is None:
        return None
    return parameter.decrypt(parameter.value) or ""


class SecretRefused(LookupError):
    """Secrets Manager would not give the value; reason names moto's error."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def secret_value(
    account: str, region: str, secret_id: str, version_id: str | None, stage: str | None
) -> dict:
    """GetSecretValue's reply (SecretString...), or SecretRefused."""
    backend = secretsmanager_backends[account][region]
    try:
        # moto types version and stage str; its own responses pass None when not given.
        return backend.get_secret_value(secret_id, version_id, stage)  # type: ignore[arg-type]
    except SecretsManagerClientError as error:
        raise SecretRefused(type(error).__name__) from None


# --- CloudWatch Logs, EC2, CloudWatch ------------------------------------------------------


class LogStream:
    """A log stream of moto's CloudWatch Logs, created when missing."""

    def __init__(self, account: str, region: str, group: str, stream: str) -> None:
        self.group, self.stream = group, stream
        self._backend = logs_backends[account][region]
        if group not in self._backend.groups:
            self._backend.create_log_group(group, {})
        if stream not in self._backend.groups[group].streams:
            self._backend.create_log_stream(group, stream)

    def put(self, timestamp_ms: int, message: str) -> bool:
        """Append one event; False when the group or stream has been deleted since."""
        try:
            self._backend.put_log_events(
                self.group, self.stream, [{"timestamp": timestamp_ms, "message": message}]
            )
        except LogsClientError:  # ResourceNotFoundException: deleted mid-build
            return False
        return True


@dataclass(frozen=True)
class Ec2Instance:
    instance_id: str
    tags: dict[str, str]


def running_instances(account: str, region: str) -> list[Ec2Instance]:
    """Running instances of the local EC2, with their tags."""
    ec2 = ec2_backends[account][region]
    return [
        Ec2Instance(instance.id, dict(ec2.tags.get(instance.id, {})))
        for instance in ec2.all_running_instances()
    ]


def alarm_state(account: str, region: str, name: str) -> str | None:
    """The CloudWatch alarm's state (OK, ALARM, INSUFFICIENT_DATA); None: no such alarm."""
    alarm = cloudwatch_backends[account][region].alarms.get(name)
    return None if alarm is None else alarm.state_value


# --- the Resource Groups Tagging API ---------------------------------------------------------


def hand_tagging_over(service: str) -> None:
    """Let the kit's backend of `service` answer the Resource Groups Tagging API alone.

    moto still makes its own backend of a service the kit replaces (for every request), and
    that backend claims the service's ARNs first in TagResources / GetResources. The kit's
    backend mixes in moto's TaggableResourcesMixin instead; moto's is told to own nothing.
    """
    from moto.codedeploy.models import CodeDeployBackend

    replaced = {"codedeploy": CodeDeployBackend}[service]
    replaced.owns_arn = lambda self, arn: False  # type: ignore[method-assign]
    replaced.iter_tagged_resources = lambda self: iter(())  # type: ignore[method-assign]


# --- EventBridge and SNS ----------------------------------------------------------------------


@dataclass(frozen=True)
class MatchedTarget:
    """A target of a rule that matched an event, which moto does not deliver itself."""

    rule_arn: str
    target_arn: str
    # What the target receives: the event, or what Input/InputPath/InputTransformer make.
    payload: Any
    event: dict[str, Any]  # the event itself


# The targets moto's Rule.send_to_targets delivers (by the service of the target's ARN).
_MOTO_DELIVERS = {"sqs", "logs", "events"}


def has_rules(account: str, region: str) -> bool:
    """The account's default event bus has a rule (else an event has nowhere to go)."""
    from moto.events.models import events_backends

    bus = events_backends[account][region].event_buses.get("default")
    return bus is not None and bool(bus.rules)


def put_service_event(account: str, region: str, event: dict[str, Any], deliver: Any) -> None:
    """Put an AWS service's event on the account's default event bus, as AWS does.

    Every ENABLED rule whose pattern matches sends it to its targets: moto delivers to SQS
    queues, log groups, archives and other buses; any other target is handed to
    deliver(MatchedTarget) (SNS, CodePipeline, CodeBuild...). event has "time" as ISO text.
    """
    from moto.events.models import events_backends

    moto_event: Any = dict(event, time=_unix_time(event["time"]), **{"ingestion-time": 0})
    bus = events_backends[account][region].describe_event_bus("default")
    for rule in list(bus.rules.values()):
        if rule.state != "ENABLED" or not rule.event_pattern.matches_event(moto_event):
            continue
        for target in list(rule.targets):
            try:
                _send(rule, target, event, moto_event, deliver)
            except Exception:  # one broken target (a deleted queue...) must not stop the rest
                log.warning("rule %s: target %s failed", rule.arn, target["Arn"], exc_info=True)


def _send(rule: Any, target: dict, event: dict[str, Any], moto_event: Any, deliver: Any) -> None:
    import copy

    service = target["Arn"].split(":")[2] if target["Arn"].count(":") >= 5 else ""
    if service in _MOTO_DELIVERS:
        one = copy.copy(rule)
        one.targets = [target]
        transform = "InputTransformer" in target
        one.send_to_targets(copy.deepcopy(moto_event), transform_input=transform)
        return
    if "Input" in target:
        payload: Any = json.loads(target["Input"])
    elif "InputPath" in target:
        payload = _json_path(target["InputPath"], event)
    elif "InputTransformer" in target:
        transformer = target["InputTransformer"]
        payload = input_transformer.transform(
            transformer.get("InputTemplate"),
            transformer.get("InputPathsMap", {}),
            event,
            **{
                "aws.events.rule-arn": rule.arn,
                "aws.events.rule-name": rule.name,
                "aws.events.event.ingestion-time": event.get("time"),
            },
        )
    else:
        payload = event
    deliver(MatchedTarget(rule.arn, target["Arn"], payload, event))


def _unix_time(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _json_path(path: str, event: dict[str, Any]) -> Any:
    from jsonpath_ng.ext import parse

    found = parse(path).find(event)
    return found[0].value if found else None


def sns_publish(topic_arn: str, message: str, subject: str | None = None) -> bool:
    """Publish to a topic of the local SNS (its subscriptions get it); False: no such topic."""
    from moto.sns.models import sns_backends

    parts = topic_arn.split(":")
    if len(parts) != 6 or parts[2] != "sns":
        return False
    backend = sns_backends[parts[4]][parts[3]]
    if topic_arn not in backend.topics:  # moto would take it for a platform endpoint
        return False
    backend.publish(message, arn=topic_arn, subject=subject)
    return True


def sns_topic_policy(topic_arn: str) -> str | None:
    """The topic's access policy (JSON text), None: no such topic."""
    from moto.sns.models import sns_backends

    parts = topic_arn.split(":")
    if len(parts) != 6 or parts[2] != "sns":
        return None
    topic = sns_backends[parts[4]][parts[3]].topics.get(topic_arn)
    return None if topic is None else topic.policy


def use_kit_input_transformer() -> None:
    """moto's EventTemplateParser inserts a string variable without its quotes, so
    {"sourceVersion": <commit>} became invalid JSON and the target never ran; every target
    moto delivers (SQS, logs, archives) gets the kit's transformer (input_transformer.py)
    instead, with AWS's quoting. moto's template without a transformer also dropped the
    event's account: the whole event goes, as AWS sends it."""
    from moto.events.utils import EventTemplateParser

    def parse(input_template: Any, input_paths_map: Any, event: Any) -> Any:
        event = dict(event)
        ingestion = event.pop("ingestion-time", None)
        return input_transformer.transform(
            input_template,
            input_paths_map or {},
            event,
            **{"aws.events.event.ingestion-time": ingestion},
        )

    EventTemplateParser.parse = staticmethod(parse)  # type: ignore[method-assign]


# --- CloudFormation ----------------------------------------------------------------------
# moto's CloudFormation makes the resources of the templates it supports, synchronously,
# but a resource that fails to be made raises out of CreateStack and leaves the stack
# CREATE_IN_PROGRESS; there is no rollback, no "No updates" check in the backend, and an
# executed change set keeps the outputs of the template the stack had before. The
# functions below add what AWS does in those cases (status, events, reasons).


class StackRefused(Exception):
    """CloudFormation refused the call as its API would (code: ValidationError...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class StackState:
    """A stack as DescribeStacks shows it, with the reason of its latest failure."""

    stack_id: str
    name: str
    status: str
    reason: str | None
    outputs: dict[str, str]


@dataclass(frozen=True)
class ChangeSetState:
    change_set_id: str
    stack_id: str
    status: str
    execution_status: str | None
    reason: str | None


NO_CHANGES = (
    "The submitted information didn't contain changes. "
    "Submit different information to create a change set."
)


def _cfn(account: str, region: str) -> Any:
    return cloudformation_backends[account][region]


def _cfn_refused(error: CloudFormationError) -> StackRefused:
    return StackRefused(error.code, error.message)


def _resource_error(error: Exception) -> str:
    # Whatever a resource's backend raised (its own service's error) is the reason AWS
    # would give in the resource's CREATE_FAILED / UPDATE_FAILED event.
    return str(getattr(error, "message", None) or error)


def parse_template(body: str) -> dict[str, Any]:
    """The template (JSON or YAML with CloudFormation's short forms) as moto reads it;
    raises StackRefused(ValidationError) for one that is neither or not a mapping."""
    try:
        template = MotoStack.parse_template(body)
    except (ValueError, yaml.YAMLError) as error:
        raise StackRefused("ValidationError", f"Template format error: {error}") from None
    if not isinstance(template, dict):
        raise StackRefused("ValidationError", "Template format error: not a JSON or YAML object")
    return template


def unsupported_resource_types(template: dict[str, Any]) -> list[str]:
    """Resource types of the template that moto's CloudFormation does not make (it skips
    them with a warning)."""
    resources = template.get("Resources") or {}
    types = {r.get("Type") for r in resources.values() if isinstance(r, dict)}
    return sorted(t for t in types if isinstance(t, str) and not resource_class_from_type(t))


def _live_stack(account: str, region: str, name: str) -> Any | None:
    for stack in _cfn(account, region).stacks.values():
        if stack.name == name:
            return stack
    return None


def _state(stack: Any) -> StackState:
    failures = [
        e.resource_status_reason
        for e in stack.events
        if e.resource_status_reason and e.resource_status.endswith("FAILED")
    ]
    reason = getattr(stack, "lab_status_reason", None) or (failures[-1] if failures else None)
    outputs = {o["OutputKey"]: str(o["OutputValue"]) for o in stack.outputs or []}
    return StackState(stack.stack_id, stack.name, stack.status, reason, outputs)


def stack_state(account: str, region: str, name: str) -> StackState | None:
    """The stack of that name that is not deleted, None: there is none."""
    stack = _live_stack(account, region, name)
    return None if stack is None else _state(stack)


def _event(stack: Any, logical_id: str, status: str, reason: str | None = None) -> None:
    stack.events.append(
        MotoEvent(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id=stack.stack_id if logical_id == stack.name else "",
            resource_type="AWS::CloudFormation::Stack"
            if logical_id == stack.name
            else "AWS::CloudFormation::Resource",
            resource_status=status,
            resource_status_reason=reason,
            resource_properties=None,
        )
    )


def _failed(stack: Any, action: str, error: Exception) -> None:
    """A resource failed: the events AWS writes, the stack rolled back as far as moto can
    (created resources deleted on a failed create; an update's are left as they are)."""
    reason = _resource_error(error)
    _event(stack, "Resource", f"{action}_FAILED", reason)
    rollback = "ROLLBACK" if action == "CREATE" else "UPDATE_ROLLBACK"
    summary = f"The following resource(s) failed to {action.lower()}: {reason}"
    _event(stack, stack.name, f"{rollback}_IN_PROGRESS", f"{summary}. Rollback requested by user.")
    if action == "CREATE":
        try:
            stack.resource_map.delete()
        except Exception:  # best effort, as moto's own delete of a half-made stack
            log.warning("could not delete the resources of failed stack %s", stack.name)
        _without_resources(stack)
    _event(stack, stack.name, f"{rollback}_COMPLETE")
    stack.status = f"{rollback}_COMPLETE"
    stack.lab_status_reason = summary


def _without_resources(stack: Any) -> None:
    """A rolled-back stack has no resources and no outputs: moto's maps are lazy and would
    make the template's resources again when DescribeStacks or ListStackResources reads
    them."""
    template = stack.template_dict
    stack.template_dict = {"Resources": {}}
    stack.resource_map = stack._create_resource_map()
    stack.output_map = stack._create_output_map()
    stack.template_dict = template


def create_stack(
    account: str,
    region: str,
    name: str,
    template: str,
    parameters: dict[str, str],
    tags: dict[str, str],
    role_arn: str | None,
    policy: str | None,
) -> StackState:
    """CreateStack, its resources made; a resource that fails rolls the stack back
    (ROLLBACK_COMPLETE with the reason). An invalid call raises StackRefused."""
    backend = _cfn(account, region)
    known = set(backend.stacks)
    try:
        stack = backend.create_stack(
            name, template, parameters, tags=tags, role_arn=role_arn, stack_policy_body=policy
        )
    except CloudFormationError as error:
        if not set(backend.stacks) - known:  # refused before the stack existed
            raise _cfn_refused(error) from None
        [stack_id] = set(backend.stacks) - known
        _failed(backend.stacks[stack_id], "CREATE", error)
        return _state(backend.stacks[stack_id])
    except Exception as error:
        new = set(backend.stacks) - known
        # moto makes the resources the outputs refer to while it builds the stack, before
        # it keeps it: a failure then leaves no stack, so the kit keeps a failed one.
        stack = backend.stacks[new.pop()] if new else _failed_stack(backend, name, template)
        _failed(stack, "CREATE", error)
        return _state(stack)
    return _state(stack)


def _failed_stack(backend: Any, name: str, template: str) -> Any:
    stack_id = generate_stack_id(name, backend.region_name, backend.account_id)
    # moto itself makes its stacks so (its CloudFormationModel base declares abstracts)
    stack = MotoStack(stack_id, name, {}, {}, backend.account_id, backend.region_name)  # type: ignore[abstract]
    stack.template = template
    stack._parse_template()
    backend.stacks[stack_id] = stack
    _event(stack, name, "CREATE_IN_PROGRESS", "User Initiated")
    return stack


def update_stack(
    account: str,
    region: str,
    name: str,
    template: str,
    parameters: dict[str, str],
    tags: dict[str, str],
    role_arn: str | None,
    policy: str | None,
) -> StackState:
    """UpdateStack; StackRefused(ValidationError, "No updates are to be performed.") when
    nothing differs, as AWS answers; a failing resource: UPDATE_ROLLBACK_COMPLETE."""
    stack = _live_stack(account, region, name)
    if stack is None:
        raise StackRefused("ValidationError", f"Stack with id {name} does not exist")
    if stack.status in ("ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS") or stack.status.endswith(
        ("_IN_PROGRESS", "_FAILED")
    ):
        raise StackRefused(
            "ValidationError",
            f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.",
        )
    if (
        stack.has_template(template)
        and stack.parameters == parameters
        and (not tags or tags == stack.tags)
    ):
        raise StackRefused("ValidationError", "No updates are to be performed.")
    previous = stack.template
    try:
        stack.update(template, role_arn, parameters=parameters, tags=tags or None)
    except Exception as error:  # a resource's own service refused it: UPDATE_FAILED
        stack.template = previous
        stack._parse_template()
        _failed(stack, "UPDATE", error)
        return _state(stack)
    stack.parameters = parameters  # moto keeps the old ones when the new set is empty
    if policy is not None:
        stack.policy = policy
    stack.lab_status_reason = None
    return _state(stack)


def delete_stack(account: str, region: str, name: str) -> None:
    backend = _cfn(account, region)
    stack = _live_stack(account, region, name)
    if stack is not None:
        for change_set_id in [
            i for i, c in backend.change_sets.items() if c.stack_id == stack.stack_id
        ]:
            del backend.change_sets[change_set_id]
        backend.delete_stack(stack.stack_id)


def _change_set(account: str, region: str, stack_name: str, name: str) -> Any | None:
    for change_set in _cfn(account, region).change_sets.values():
        if change_set.stack_name == stack_name and change_set.change_set_name == name:
            return change_set
    return None


def change_set_state(
    account: str, region: str, stack_name: str, name: str
) -> ChangeSetState | None:
    change_set = _change_set(account, region, stack_name, name)
    if change_set is None:
        return None
    return ChangeSetState(
        change_set.change_set_id,
        change_set.stack_id,
        change_set.status,
        change_set.execution_status,
        change_set.status_reason,
    )


def delete_change_set(account: str, region: str, stack_name: str, name: str) -> bool:
    backend = _cfn(account, region)
    change_set = _change_set(account, region, stack_name, name)
    if change_set is None:
        return False
    del backend.change_sets[change_set.change_set_id]
    return True


def create_change_set(
    account: str,
    region: str,
    stack_name: str,
    name: str,
    template: str,
    parameters: dict[str, str],
    tags: dict[str, str],
    role_arn: str | None,
) -> ChangeSetState:
    """CreateChangeSet: UPDATE for a stack that exists, CREATE (the stack in
    REVIEW_IN_PROGRESS) for one that does not; StackRefused for an invalid call."""
    backend = _cfn(account, region)
    stack = _live_stack(account, region, stack_name)
    if stack is not None and stack.status == "REVIEW_IN_PROGRESS":
        # moto would make a second stack of that name: start the review again
        delete_stack(account, region, stack_name)
        backend.deleted_stacks.pop(stack.stack_id, None)
        stack = None
    kind = "CREATE" if stack is None else "UPDATE"
    try:
        change_set_id, _ = backend.create_change_set(
            stack_name,
            name,
            template,
            parameters,
            None,  # no Description, as AWS's without one (moto would answer "")
            kind,
            tags=tags,
            role_arn=role_arn,
        )
    except CloudFormationError as error:
        raise _cfn_refused(error) from None
    change_set = backend.change_sets[change_set_id]
    if change_set.status == "FAILED":
        change_set.status_reason = NO_CHANGES
    return change_set_state(account, region, stack_name, name)  # type: ignore[return-value]


def execute_change_set(account: str, region: str, stack_name: str, name: str) -> StackState:
    """ExecuteChangeSet: the stack made or updated, its outputs those of the change set's
    template; every change set of the stack removed afterwards, as AWS does."""
    backend = _cfn(account, region)
    change_set = _change_set(account, region, stack_name, name)
    if change_set is None:
        raise StackRefused("ChangeSetNotFound", f"ChangeSet [{name}] does not exist")
    stack = backend.stacks[change_set.stack_id]
    kind = change_set.change_set_type
    previous = stack.template
    try:
        backend.execute_change_set(change_set.change_set_id)
    except Exception as error:  # a resource's own service refused it
        stack.template = previous if kind == "UPDATE" else stack.template
        if kind == "UPDATE":
            stack._parse_template()
        _failed(stack, kind, error)
        return _state(stack)
    stack._parse_template()
    stack.parameters = change_set.parameters
    stack.output_map = stack._create_output_map()
    stack.description = stack.template_dict.get("Description")
    stack.lab_status_reason = None
    for change_set_id in [
        i for i, c in backend.change_sets.items() if c.stack_id == stack.stack_id
    ]:
        del backend.change_sets[change_set_id]
    return _state(stack)


# --- services moto has no backend for ------------------------------------------------------

_KIT_SERVED: dict[str, Any] = {}


def serve_new_service(service: str, url_base: str, backends: Any) -> None:
    """Route a service moto does not have (its SigV4 signing name, e.g.
    "codestar-notifications") to the kit's BackendDict, in server mode and under mock_aws.

    Both modes find a backend the same two ways: the service's host by the patterns of
    moto.backend_index (DomainDispatcherApplication builds the host from the credential
    scope's service name; mock_aws matches the request URL), then its BackendDict by
    moto.backends.get_backend(name), whose urls (the backend module's urls.py) route paths
    to a response class. A pattern appended to that list and a get_backend that knows the
    kit's backends are all it takes; nothing of moto's own services changes.
    """
    import re

    import moto.backend_index as backend_index
    import moto.backends as moto_backends_module

    name = service.replace("-", "")
    if name not in _KIT_SERVED:
        backend_index.backend_url_patterns.append((name, re.compile(url_base)))
    _KIT_SERVED[name] = backends
    get_backend = moto_backends_module.get_backend
    if getattr(get_backend, "lab_kit", False):
        return

    def kit_get_backend(name: Any) -> Any:
        found = _KIT_SERVED.get(str(name).replace("-", ""))
        return found if found is not None else get_backend(name)

    kit_get_backend.lab_kit = True  # type: ignore[attr-defined]
    moto_backends_module.get_backend = kit_get_backend


# --- Lambda ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LambdaFunction:
    """One version of a function of moto's Lambda, read: what running it needs."""

    account: str
    region: str
    name: str
    arn: str  # unqualified
    version: str  # "$LATEST" or a published number
    runtime: str | None
    handler: str | None
    package_type: str
    role: str
    timeout: int  # seconds
    memory_size: int  # MB
    environment: dict[str, str]
    code: bytes  # the zip (moto keeps ZipFile and S3 code alike)
    code_sha256: str


# Invocation(function, invoked_arn, payload, request headers, response headers) -> payload
LambdaInvoker = Any


def _lambda_view(fn: Any) -> LambdaFunction:
    return LambdaFunction(
        account=fn.account_id,
        region=fn.region,
        name=fn.function_name,
        arn=f"arn:{PARTITION}:lambda:{fn.region}:{fn.account_id}:function:{fn.function_name}",
        version=str(fn.version),
        runtime=fn.run_time,
        handler=fn.handler,
        package_type=fn.package_type or "Zip",
        role=fn.role,
        timeout=int(fn.timeout or 3),
        memory_size=int(fn.memory_size or 128),
        environment={str(k): str(v) for k, v in (fn.environment_vars or {}).items()},
        code=getattr(fn, "code_bytes", b"") or b"",
        code_sha256=getattr(fn, "code_sha_256", "") or "",
    )


def _alias_target(backend: Any, name: str, qualifier: str | None) -> str | None:
    """The version an alias sends this invocation to: its own, or one of its routing
    config's AdditionalVersionWeights, drawn by weight as Lambda does."""
    import random

    from moto.awslambda.exceptions import LambdaClientError

    if ":" in name and not name.startswith("arn:"):
        name, qualifier = name.split(":", 1)
    elif name.startswith("arn:") and name.count(":") == 7:
        name, qualifier = name.rsplit(":", 1)
    if not qualifier:
        return None
    short = name.rsplit(":", 1)[-1]
    try:
        aliases = backend._lambdas._get_function_aliases(short)
    except (LambdaClientError, KeyError):
        return None
    alias = aliases.get(qualifier)
    if alias is None:
        return None
    weights = (alias.routing_config or {}).get("AdditionalVersionWeights") or {}
    draw = random.random()
    for version, weight in weights.items():
        draw -= float(weight)
        if draw < 0:
            return str(version)
    return str(alias.function_version)


def run_lambda_invocations_with(invoke: LambdaInvoker, check_request: Any) -> None:
    """Replace how moto's Lambda runs a function (Docker, or a canned answer without it):
    every invocation, the Invoke API's and those of moto's own event sources (EventBridge,
    SNS, SQS), calls invoke(function, invoked_arn, payload, request_headers,
    response_headers) -> reply payload. check_request(function_name, qualifier, body)
    checks an Invoke request before moto reads it (moto splits the name on ':' and parses
    the body as JSON unguarded, and takes the Qualifier from a "qualifier" member of the
    payload, not from the query string). Idempotent."""
    from urllib.parse import unquote

    from moto.awslambda.models import LambdaBackend
    from moto.awslambda.models import LambdaFunction as MotoFunction
    from moto.awslambda.responses import LambdaResponse
    from moto.awslambda_simple.models import LambdaSimpleBackend

    if getattr(LambdaBackend.invoke, "lab_kit", False):
        return
    moto_response_invoke = LambdaResponse.invoke

    def response_invoke(self: Any) -> Any:
        name = unquote(self.path.rsplit("/", 2)[-2])
        qualifier = (self.querystring.get("Qualifier") or [None])[0]
        check_request(name, qualifier, self.body)
        self.querystring["qualifier"] = [qualifier]  # what moto's _get_param reads first
        return moto_response_invoke(self)

    LambdaResponse.invoke = response_invoke  # type: ignore[method-assign]

    def backend_invoke(
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, reply: Any
    ) -> bytes:
        fn = self.get_function(function_name, qualifier)
        routed = _alias_target(self, function_name, qualifier)
        if routed is not None:
            fn = self.get_function(fn.function_name, routed)
        view = _lambda_view(fn)
        named = _qualifier_of(function_name, qualifier)
        invoked_arn = view.arn + (f":{named}" if named else "")
        payload = invoke(view, invoked_arn, body, headers, reply)
        reply["Content-Length"] = str(len(payload))
        return payload

    def function_invoke(self: Any, body: Any, headers: Any, reply: Any) -> bytes:
        view = _lambda_view(self)
        return invoke(view, view.arn, body, headers or {}, reply)

    backend_invoke.lab_kit = True  # type: ignore[attr-defined]
    LambdaBackend.invoke = backend_invoke  # type: ignore[method-assign,assignment]
    LambdaSimpleBackend.invoke = backend_invoke  # type: ignore[method-assign,assignment]
    MotoFunction.invoke = function_invoke  # type: ignore[method-assign,assignment]


def _qualifier_of(name: str, qualifier: str | None) -> str:
    if name.startswith("arn:") and name.count(":") == 7:
        return name.rsplit(":", 1)[1]
    if ":" in name and not name.startswith("arn:"):
        return name.split(":", 1)[1]
    return qualifier or ""


def lambda_function(
    account: str, region: str, name: str, qualifier: str | None = None
) -> LambdaFunction | None:
    """A function of moto's Lambda by name or ARN (and version or alias); None if none."""
    from moto.awslambda.exceptions import LambdaClientError
    from moto.awslambda.utils import get_backend

    try:
        return _lambda_view(get_backend(account, region).get_function(name, qualifier))
    except LambdaClientError:
        return None


@dataclass(frozen=True)
class LambdaAliasState:
    """An alias of moto's Lambda: its version and its routing weights (version -> 0..1)."""

    function_version: str
    weights: dict[str, float]


def lambda_alias(account: str, region: str, function: str, alias: str) -> LambdaAliasState | None:
    """The alias of a function, or None when the function or the alias does not exist."""
    from moto.awslambda.exceptions import LambdaClientError
    from moto.awslambda.utils import get_backend

    try:
        aliases = get_backend(account, region)._lambdas._get_function_aliases(function)
    except (LambdaClientError, KeyError):
        return None
    found: Any = aliases.get(alias)
    if found is None:
        return None
    weights = (found.routing_config or {}).get("AdditionalVersionWeights") or {}
    return LambdaAliasState(
        str(found.function_version), {str(k): float(v) for k, v in weights.items()}
    )


def route_lambda_alias(
    account: str, region: str, function: str, alias: str, version: str, weights: dict[str, float]
) -> bool:
    """Point the alias at version, sending each of weights' versions its share (as
    UpdateAlias with a RoutingConfig does); False when the alias is gone."""
    from moto.awslambda.exceptions import LambdaClientError
    from moto.awslambda.utils import get_backend

    try:
        aliases = get_backend(account, region)._lambdas._get_function_aliases(function)
    except (LambdaClientError, KeyError):
        return False
    found: Any = aliases.get(alias)
    if found is None:
        return False
    found.function_version = version
    found.routing_config = {"AdditionalVersionWeights": dict(weights)} if weights else None
    found.revision_id = str(uuid.uuid4())
    return True
