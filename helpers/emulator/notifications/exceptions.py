"""CodeStar Notifications' errors, one class per error shape of the botocore model.

Use as `exceptions.ResourceNotFoundException("...")`.
"""

from ..core import error_classes

globals().update(error_classes("codestar-notifications"))


def __getattr__(name: str):  # pragma: no cover - only reached for a misspelt error name
    raise AttributeError(f"CodeStar Notifications has no error named {name}")
