"""CodeDeploy's errors, one class per error shape of the botocore model.

Use as `exceptions.DeploymentDoesNotExistException("...")`. Every error the local CodeDeploy
raises is declared by the model, so nothing is hand-written here; an error AWS returns
without declaring it would be added below as a class of its own, with a comment saying
where AWS returns it.
"""

from ..core import error_classes

globals().update(error_classes("codedeploy"))


def __getattr__(name: str):  # pragma: no cover - only reached for a misspelt error name
    raise AttributeError(f"CodeDeploy has no error named {name}")
