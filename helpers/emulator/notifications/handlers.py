"""CodeStar Notifications' operations and replies.

moto has no backend for the service, so the kit brings the response class too:
NotificationsResponse is a moto BaseResponse (account, region, errors and replies as
moto's services have them). The API is REST-JSON (POST /createNotificationRule...), not
X-Amz-Target JSON, so its guard here does what core's does for the other services: the
operation only from the model's method and path, the body read by core.read_params and
checked by core.check_request against the input shape, then the model's patterns and
lengths (constraints.py) answered as AWS does, with ValidationException.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from moto.core.responses import BaseResponse

from .. import constraints, identities
from ..core import (
    LabHandlers,
    UnknownOperationException,
    check_request,
    compact,
    install_handlers,
    pager,
    read_params,
    service_model,
    with_token,
)
from ..moto_backends import serve_new_service
from .exceptions import InvalidNextTokenException, ValidationException
from .models import (
    EVENT_TYPES,
    NotificationsLabBackend,
    Rule,
    notification_lab_backends,
)

SERVICE = "codestar-notifications"

_page = pager(InvalidNextTokenException, "The nextToken is not valid")


def _routes() -> dict[tuple[str, str], str]:
    """(method, path) -> operation, for the operations whose path is fixed."""
    model = service_model(SERVICE)
    routes = {}
    for name in model.operation_names:
        http = model.operation_model(name).http
        routes[(http["method"], http["requestUri"])] = name
    return routes


_ROUTES = _routes()
_UNTAG = "/untagResource/"


def operation_for(method: str, path: str) -> tuple[str, dict[str, str]]:
    """The operation a method and path name, and the values the path carries; only the
    model's operations (no other attribute of the response class can be reached)."""
    operation = _ROUTES.get((method, path))
    if operation is not None:
        return operation, {}
    if method == "POST" and path.startswith(_UNTAG) and len(path) > len(_UNTAG):
        return "UntagResource", {"Arn": urllib.parse.unquote(path[len(_UNTAG) :])}
    raise UnknownOperationException(f"{method} {path} is not an operation of {SERVICE}")


class NotificationsResponse(BaseResponse):
    """moto's response class for the service (moto has none)."""

    lab_operation: str
    lab_params: dict | None

    def __init__(self) -> None:
        super().__init__(service_name=SERVICE)

    def _dispatch(self, request: Any, full_url: str | None = None, headers: Any = None) -> Any:
        operation, from_path = operation_for(request.method, request.path)
        params = read_params(request.data)
        params.update(from_path)
        if operation == "UntagResource":
            params["TagKeys"] = request.args.getlist("tagKeys")
        check_request(SERVICE, operation, params)
        shape = service_model(SERVICE).operation_model(operation).input_shape
        found = constraints.violations(params, shape, None)
        if found:
            raise ValidationException(constraints.report(found))
        self.lab_operation, self.lab_params = operation, params
        return super()._dispatch(request, full_url, headers)

    def _get_action(self) -> str:
        return self.lab_operation

    # core.install_handlers puts its X-Amz-Target guard on a _dispatch not marked guarded;
    # this one is the REST-JSON guard.
    _dispatch.lab_guarded = True  # type: ignore[attr-defined]


class NotificationsHandlers(LabHandlers):
    def _lab_backend(self) -> NotificationsLabBackend:
        return notification_lab_backends[self.current_account][self.region]

    def _lab_caller_arn(self) -> str:
        return identities.caller_arn(self.headers, self.current_account)

    def create_notification_rule(self, params: dict) -> dict:
        rule = self._lab_backend().create_rule(params, self._lab_caller_arn())
        return {"Arn": rule.arn}

    def describe_notification_rule(self, params: dict) -> dict:
        backend = self._lab_backend()
        return rule_reply(backend, backend.get_rule(params["Arn"]))

    def list_notification_rules(self, params: dict) -> dict:
        rules = self._lab_backend().list_rules(params.get("Filters") or [])
        page, token = _page(rules, params, token_key="NextToken", size_key="MaxResults")
        reply = {
            "NotificationRules": [{"Id": r.arn.rsplit("/", 1)[-1], "Arn": r.arn} for r in page]
        }
        return with_token(reply, token, "NextToken")

    def update_notification_rule(self, params: dict) -> dict:
        self._lab_backend().update_rule(params)
        return {}

    def delete_notification_rule(self, params: dict) -> dict:
        self._lab_backend().delete_rule(params["Arn"])
        return {"Arn": params["Arn"]}

    def subscribe(self, params: dict) -> dict:
        self._lab_backend().subscribe(params["Arn"], params["Target"])
        return {"Arn": params["Arn"]}

    def unsubscribe(self, params: dict) -> dict:
        self._lab_backend().unsubscribe(params["Arn"], params["TargetAddress"])
        return {"Arn": params["Arn"]}

    def list_targets(self, params: dict) -> dict:
        found = self._lab_backend().list_targets(params.get("Filters") or [])
        page, token = _page(found, params, token_key="NextToken", size_key="MaxResults")
        reply = {"Targets": [target_reply(target, status) for target, status in page]}
        return with_token(reply, token, "NextToken")

    def delete_target(self, params: dict) -> dict:
        self._lab_backend().delete_target(
            params["TargetAddress"], bool(params.get("ForceUnsubscribeAll"))
        )
        return {}

    def list_event_types(self, params: dict) -> dict:
        wanted: dict[str, set[str]] = {}
        for item in params.get("Filters") or []:
            wanted.setdefault(item["Name"], set()).add(item["Value"])
        found = [
            event_type
            for event_type in EVENT_TYPES
            if event_type.resource_type in wanted.get("RESOURCE_TYPE", {event_type.resource_type})
            and event_type.service in wanted.get("SERVICE_NAME", {event_type.service})
        ]
        page, token = _page(found, params, token_key="NextToken", size_key="MaxResults")
        reply = {
            "EventTypes": [
                {
                    "EventTypeId": e.id,
                    "ServiceName": e.service,
                    "EventTypeName": e.name,
                    "ResourceType": e.resource_type,
                }
                for e in page
            ]
        }
        return with_token(reply, token, "NextToken")

    def tag_resource(self, params: dict) -> dict:
        backend = self._lab_backend()
        backend.tag_resource(params["Arn"], params["Tags"])
        return {"Tags": dict(backend.get_rule(params["Arn"]).tags)}

    def untag_resource(self, params: dict) -> dict:
        self._lab_backend().untag_resource(params["Arn"], params["TagKeys"])
        return {}

    def list_tags_for_resource(self, params: dict) -> dict:
        return {"Tags": dict(self._lab_backend().get_rule(params["Arn"]).tags)}


def rule_reply(backend: NotificationsLabBackend, rule: Rule) -> dict:
    from .models import EVENT_TYPES_BY_ID

    return compact(
        {
            "Arn": rule.arn,
            "Name": rule.name,
            "EventTypes": [
                {
                    "EventTypeId": e.id,
                    "ServiceName": e.service,
                    "EventTypeName": e.name,
                    "ResourceType": e.resource_type,
                }
                for e in (EVENT_TYPES_BY_ID[i] for i in rule.event_type_ids)
            ],
            "Resource": rule.resource,
            "Targets": [
                target_reply(backend.targets[a], backend.target_status(backend.targets[a]))
                for a in rule.targets
                if a in backend.targets
            ],
            "DetailType": rule.detail_type,
            "CreatedBy": rule.created_by,
            "Status": rule.status,
            "CreatedTimestamp": rule.created,
            "LastModifiedTimestamp": rule.modified,
            "Tags": dict(rule.tags),
        }
    )


def target_reply(target: Any, status: str) -> dict:
    return {"TargetAddress": target.address, "TargetType": target.type, "TargetStatus": status}


def install() -> None:
    from . import urls  # it imports this module: read once both are loaded

    serve_new_service(SERVICE, urls.url_bases[0], notification_lab_backends)
    install_handlers(SERVICE, NotificationsResponse, NotificationsHandlers)
