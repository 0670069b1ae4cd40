"""CodeBuild's errors, one class per error shape of the botocore model.

Use as `exceptions.ResourceNotFoundException("...")`.
"""

from ..core import error_classes

globals().update(error_classes("codebuild"))


def __getattr__(name: str):  # pragma: no cover - only reached for a misspelt error name
    raise AttributeError(f"CodeBuild has no error named {name}")
