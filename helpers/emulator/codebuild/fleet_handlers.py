"""The CodeBuild fleet operations (CreateFleet, UpdateFleet, DeleteFleet, BatchGetFleets,
ListFleets) and fleet_reply; the state and the slot accounting are fleets.py's."""

from __future__ import annotations

from ..core import LabHandlers, compact, with_token
from . import fleets
from .fleets import Fleet
from .handlers import _backend, _descending, _page


class FleetHandlers(LabHandlers):
    def create_fleet(self, params: dict) -> dict:
        return {"fleet": fleet_reply(fleets.create_fleet(_backend(self), params))}

    def update_fleet(self, params: dict) -> dict:
        return {"fleet": fleet_reply(fleets.update_fleet(_backend(self), params))}

    def delete_fleet(self, params: dict) -> dict:
        fleets.delete_fleet(_backend(self), params["arn"])
        return {}

    def batch_get_fleets(self, params: dict) -> dict:
        backend = _backend(self)
        found, missing = [], []
        for name in params["names"]:
            fleet = fleets.get_fleet(backend, name)
            if fleet is None:
                missing.append(name)
            else:
                found.append(fleet_reply(fleet))
        return {"fleets": found, "fleetsNotFound": missing}

    def list_fleets(self, params: dict) -> dict:
        arns = fleets.list_fleets(
            _backend(self), params.get("sortBy") or "NAME", _descending(params, "ASCENDING")
        )
        page, token = _page(arns, params)
        return with_token({"fleets": page}, token)


def fleet_reply(fleet: Fleet) -> dict:
    settings = fleet.settings
    reply = {
        "arn": fleet.arn,
        "name": fleet.name,
        "id": fleet.id,
        "created": fleet.created,
        "lastModified": fleet.last_modified,
        # Nothing to provision offline: a fleet is ready at once.
        "status": {"statusCode": "ACTIVE"},
        "baseCapacity": settings["baseCapacity"],
        "environmentType": settings["environmentType"],
        "computeType": settings["computeType"],
        "overflowBehavior": fleet.overflow_behavior,
        "tags": settings.get("tags", []),
    }
    scaling = settings.get("scalingConfiguration")
    if scaling:
        reply["scalingConfiguration"] = {**scaling, "desiredCapacity": fleet.base_capacity}
    optional = (
        "computeConfiguration",
        "vpcConfig",
        "proxyConfiguration",
        "imageId",
        "fleetServiceRole",
    )
    reply.update(compact({key: settings.get(key) for key in optional}))
    return reply
