"""CodeConnections' errors, one class per error shape of the botocore model (the two APIs,
codeconnections and codestar-connections, declare the same errors).

Use as `exceptions.ResourceNotFoundException("...")`.
"""

from ..core import error_classes

globals().update(error_classes("codeconnections"))


def __getattr__(name: str):  # pragma: no cover - only reached for a misspelt error name
    raise AttributeError(f"CodeConnections has no error named {name}")
