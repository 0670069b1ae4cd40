"""Custom action types of one account and region: CreateCustomActionType,
DeleteCustomActionType, UpdateActionType, and their part of ListActionTypes/GetActionType.

A custom type is an action_types.ActionType with owner Custom. Deleting one only marks it
deleted (AWS): pipelines can no longer be created with it and PollForJobs fails for it;
creating it again with the identical definition and version restores it, while a
different definition needs a version string never used before.
"""

from __future__ import annotations

import dataclasses
import threading

from . import exceptions as err
from .action_types import CUSTOM_TIMEOUT_MINUTES, ActionType, Property
from .providers import job_worker

MAX_CUSTOM_TYPES = 50  # AWS quota: custom actions per Region in an account
MAX_TAGS = 50


def _key(type_id: dict) -> tuple[str, str, str]:
    return (type_id.get("category", ""), type_id.get("provider", ""), type_id.get("version", ""))


@dataclasses.dataclass
class CustomType:
    action_type: ActionType
    tags: dict[str, str]
    deleted: bool = False
    definition: dict = dataclasses.field(default_factory=dict)  # the create request


class CustomTypes:
    def __init__(self) -> None:
        self.types: dict[tuple[str, str, str], CustomType] = {}
        self.lock = threading.RLock()

    def find(self, type_id: dict, include_deleted: bool = False) -> ActionType | None:
        if type_id.get("owner") != "Custom":
            return None
        entry = self.types.get(_key(type_id))
        if entry is None or (entry.deleted and not include_deleted):
            return None
        return entry.action_type

    def entry(self, type_id: dict) -> CustomType | None:
        return self.types.get(_key(type_id))

    def active(self) -> list[ActionType]:
        return [e.action_type for e in self.types.values() if not e.deleted]

    def create(self, params: dict) -> CustomType:
        definition = {k: v for k, v in params.items() if k != "tags"}
        action_type = _from_request(params)
        tags = {}
        for tag in params.get("tags") or []:
            if tag["key"].startswith("aws:"):
                raise err.InvalidTagsException(
                    "Not allowed to modify system tags. System tags start with 'aws:'."
                )
            tags[tag["key"]] = tag["value"]
        if len(tags) > MAX_TAGS:
            raise err.TooManyTagsException(f"A resource can have at most {MAX_TAGS} tags")
        key = _key(action_type.id)
        with self.lock:
            existing = self.types.get(key)
            if existing is not None:
                if existing.definition != definition:
                    state = "was deleted" if existing.deleted else "already exists"
                    raise err.ValidationException(
                        f"Custom action type {'/'.join(key)} {state} with a different "
                        "definition; use a version string that was never used before"
                    )
                existing.deleted = False  # identical definition: restore it (or no change)
                return existing
            if sum(1 for e in self.types.values() if not e.deleted) >= MAX_CUSTOM_TYPES:
                raise err.LimitExceededException(
                    f"An account can have at most {MAX_CUSTOM_TYPES} custom action types in "
                    "a Region"
                )
            entry = CustomType(action_type, tags, definition=definition)
            self.types[key] = entry
            return entry

    def delete(self, category: str, provider: str, version: str) -> None:
        with self.lock:
            entry = self.types.get((category, provider, version))
            if entry is not None:  # AWS: deleting a missing custom type succeeds too
                entry.deleted = True

    def update(self, declaration: dict) -> None:
        """UpdateActionType with a full ActionTypeDeclaration."""
        type_id = declaration["id"]
        with self.lock:
            entry = self.types.get(_key(type_id))
            if type_id["owner"] != "Custom" or entry is None or entry.deleted:
                raise err.ActionTypeNotFoundException(
                    f"Action type (category {type_id['category']}, owner {type_id['owner']}, "
                    f"provider {type_id['provider']}, version {type_id['version']}) does not "
                    "exist or is not one of this account's custom action types"
                )
            properties = tuple(
                Property(
                    p["name"],
                    not p["optional"],
                    p["key"],
                    p["noEcho"],
                    bool(p.get("queryable")),
                    p.get("description", ""),
                )
                for p in declaration.get("properties") or []
            )
            _check_properties(properties)
            urls = declaration.get("urls") or {}
            executor = declaration["executor"]
            job_timeout = executor.get("jobTimeout")
            if job_timeout is not None and not 60 <= job_timeout <= 43200:
                raise err.ValidationException(
                    "executor.jobTimeout must be between 60 and 43200 seconds"
                )
            inputs = _counts(declaration["inputArtifactDetails"], "inputArtifactDetails")
            outputs = _counts(declaration["outputArtifactDetails"], "outputArtifactDetails")
            entry.action_type = dataclasses.replace(
                entry.action_type,
                properties=properties,
                inputs=inputs,
                outputs=outputs,
                configuration_url=urls.get("configurationUrl"),
                entity_url=urls.get("entityUrlTemplate"),
                execution_url=urls.get("executionUrlTemplate"),
                revision_url=urls.get("revisionUrlTemplate"),
                description=declaration.get("description") or "",
                job_timeout=job_timeout or entry.action_type.job_timeout,
            )


def _counts(details: dict, where: str) -> tuple[int, int]:
    low, high = details["minimumCount"], details["maximumCount"]
    if not 0 <= low <= high <= 5:
        raise err.ValidationException(
            f"{where}: minimumCount and maximumCount must be between 0 and 5, minimum first"
        )
    return low, high


def _check_properties(properties: tuple[Property, ...]) -> None:
    names = [p.name for p in properties]
    if len(names) != len(set(names)):
        raise err.ValidationException("Configuration property names must be unique")
    if len(properties) > 10:
        raise err.ValidationException(
            "A custom action can have at most 10 configuration properties"
        )
    queryable = [p for p in properties if p.queryable]
    if len(queryable) > 1:
        raise err.ValidationException(
            "A custom action can have at most one queryable configuration property"
        )
    for prop in queryable:
        if not prop.required or prop.secret:
            raise err.ValidationException(
                f"The queryable configuration property {prop.name} must be required and not secret"
            )


def _from_request(params: dict) -> ActionType:
    properties = tuple(
        Property(
            p["name"],
            p["required"],
            p["key"],
            p["secret"],
            bool(p.get("queryable")),
            p.get("description", ""),
            p.get("type", "String"),
        )
        for p in params.get("configurationProperties") or []
    )
    _check_properties(properties)
    settings = params.get("settings") or {}
    return ActionType(
        params["category"],
        params["provider"],
        properties,
        _counts(params["inputArtifactDetails"], "inputArtifactDetails"),
        _counts(params["outputArtifactDetails"], "outputArtifactDetails"),
        entity_url=settings.get("entityUrlTemplate"),
        execution_url=settings.get("executionUrlTemplate"),
        revision_url=settings.get("revisionUrlTemplate"),
        configuration_url=settings.get("thirdPartyConfigurationUrl"),
        runner=job_worker.RUNNER,
        owner="Custom",
        version=params["version"],
        timeout_minutes=CUSTOM_TIMEOUT_MINUTES,
    )
