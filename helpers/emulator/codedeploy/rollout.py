"""How many instances a deployment configuration lets CodeDeploy take at once, and when the
deployment succeeds or fails (CodeDeploy user guide, "CodeDeploy instance health").

- The minimum number of healthy hosts is HOST_COUNT as given, or FLEET_PERCENT of the
  instances rounded up. If it is not below the number of instances, the deployment cannot
  start (HEALTH_CONSTRAINTS_INVALID).
- Instances in flight and failed instances are not healthy: CodeDeploy starts another one
  only while (instances - failed - in flight) stays above the minimum. When it cannot start
  any more and instances remain, the deployment fails (HEALTH_CONSTRAINTS).
- At the end, the deployment succeeds if at least max(minimum, 1) instances succeeded.
- CodeDeployDefault.OneAtATime (documented as 99%) deploys one instance at a time and fails
  as soon as any but the last instance fails: a minimum of instances - 1.
"""

from __future__ import annotations

import math

ONE_AT_A_TIME = "CodeDeployDefault.OneAtATime"


def minimum_healthy_hosts(config_name: str, minimum: dict, instances: int) -> int:
    if config_name == ONE_AT_A_TIME:
        return max(instances - 1, 0)
    value = int(minimum.get("value", 0))
    if minimum.get("type") == "FLEET_PERCENT":
        return math.ceil(instances * value / 100)
    return value


def can_start(instances: int, minimum: int, failed: int, in_flight: int) -> bool:
    """True when one more instance may be taken out of service."""
    return instances - failed - in_flight - 1 >= minimum


def constraints_valid(instances: int, minimum: int) -> bool:
    return minimum < instances or instances == 0


def overall_success(minimum: int, succeeded: int) -> bool:
    return succeeded >= max(minimum, 1)
