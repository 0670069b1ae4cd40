"""Which instances a deployment group reaches, and where each offline instance lives on disk.

EC2 instances come from the local EC2 API (moto's ec2 backend: only running ones count);
on-premises instances are the ones registered with CodeDeploy. Offline, every instance is
a folder under the kit's state folder that plays the instance's file system.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ... import settings
from .. import safepaths


@dataclass(frozen=True)
class Instance:
    """One deployment target: its id (EC2 instance id or on-premises name) and ARN."""

    instance_id: str
    arn: str
    tags: dict[str, str]


# The layout, the one place that knows it: <server folder>/codedeploy/<account>/<region>/
# instances/<instance>, where a server folder is settings.emulator_dir() of its process.
SERVICE_DIR = "codedeploy"
INSTANCES_DIR = "instances"


def instance_root(account: str, region: str, instance_id: str) -> Path:
    """The folder that plays the file system of one offline instance.

    An on-premises instance name is any text ('../x' too): it becomes one folder name
    (safepaths.component), never a path of its own.
    """
    return region_state_dir(account, region) / INSTANCES_DIR / safepaths.component(instance_id)


def region_state_dir(account: str, region: str) -> Path:
    return (
        settings.emulator_dir()
        / SERVICE_DIR
        / safepaths.account_id(account)
        / safepaths.region(region)
    )


def find_instance_root(instance_id: str) -> Path | None:
    """The folder of an instance deployed to by any local server (another process may be
    the server, when AWS_ENDPOINT_URL points at one), in any account and region; None when
    none has it. Instance ids are unique, so the first found is the one.

    The id is one folder name (safepaths.component), never part of the glob pattern.
    """
    folder = safepaths.component(instance_id)
    servers = settings.state_dir() / settings.EMULATOR_DIR_NAME
    found = sorted(
        instances / folder
        for instances in servers.glob(f"*/{SERVICE_DIR}/*/*/{INSTANCES_DIR}")
        if (instances / folder).is_dir()
    )
    return found[0] if found else None


def tag_matches(tags: dict[str, str], tag_filter: dict) -> bool:
    """One EC2TagFilter / TagFilter: KEY_ONLY, VALUE_ONLY or KEY_AND_VALUE (the default)."""
    key, value = tag_filter.get("Key"), tag_filter.get("Value")
    kind = tag_filter.get("Type") or (
        "KEY_AND_VALUE" if key and value else "KEY_ONLY" if key else "VALUE_ONLY"
    )
    if kind == "KEY_ONLY":
        return key in tags
    if kind == "VALUE_ONLY":
        return value in tags.values()
    return (tags.get(key) if key is not None else None) == value  # no key: no tag's value


def matches_any(tags: dict[str, str], filters: list[dict]) -> bool:
    """Filters in one list are ORed."""
    return any(tag_matches(tags, tag_filter) for tag_filter in filters)


def matches_tag_set(tags: dict[str, str], tag_set: list[list[dict]]) -> bool:
    """A tag set is a list of filter groups: an instance must match every group (AND)."""
    groups = [group for group in tag_set if group]
    return bool(groups) and all(matches_any(tags, group) for group in groups)


def selected(
    tags: dict[str, str], filters: list[dict] | None, tag_set: list[list[dict]] | None
) -> bool:
    if filters:
        return matches_any(tags, filters)
    if tag_set:
        return matches_tag_set(tags, tag_set)
    return False


def ec2_instances(account: str, region: str) -> list[Instance]:
    """Running instances of the local EC2 API, with their tags."""
    # Imported here: the lab helpers use this module's folders in kernels that never load
    # moto (a kernel asking a shared server), and moto costs seconds to import.
    from .. import moto_backends

    return [
        Instance(
            instance.instance_id,
            f"arn:aws:ec2:{region}:{account}:instance/{instance.instance_id}",
            instance.tags,
        )
        for instance in moto_backends.running_instances(account, region)
    ]


def _tag_set(tag_set: dict | None, list_key: str) -> list[list[dict]]:
    return (tag_set or {}).get(list_key) or []


def group_instances(
    account: str, region: str, group: dict, on_premises: list[Instance]
) -> list[Instance]:
    """The instances a deployment group (or a deployment's targetInstances) selects."""
    chosen = [
        instance
        for instance in ec2_instances(account, region)
        if selected(
            instance.tags,
            group.get("ec2TagFilters"),
            _tag_set(group.get("ec2TagSet"), "ec2TagSetList"),
        )
    ]
    chosen += [
        instance
        for instance in on_premises
        if selected(
            instance.tags,
            group.get("onPremisesInstanceTagFilters"),
            _tag_set(group.get("onPremisesTagSet"), "onPremisesTagSetList"),
        )
    ]
    return chosen
