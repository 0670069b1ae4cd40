"""S3 deploy: the input artifact into a bucket of the local S3, extracted (every file under
ObjectKey as a folder) or as one object (ObjectKey)."""

from __future__ import annotations

import io
import zipfile

from ... import moto_backends
from .. import artifacts
from .. import exceptions as err
from .base import ActionContext, ActionFailed, Runner


def run(ctx: ActionContext) -> None:
    from ..validation import bucket_exists  # validation imports the catalogue, which imports this

    bucket = ctx.configuration["BucketName"]
    extract = str(ctx.configuration.get("Extract", "")).lower() == "true"
    key = (ctx.configuration.get("ObjectKey") or "").strip("/")
    if not bucket_exists(ctx.account, bucket):
        raise ActionFailed(f"The bucket {bucket} does not exist", "ConfigurationError")
    [location] = ctx.inputs.values()
    data = artifacts.get(ctx.account, location)
    if not extract:
        moto_backends.put_object(ctx.account, bucket, key, data)
        ctx.report(summary=f"Deployed to s3://{bucket}/{key}")
        return
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ActionFailed(
            "The input artifact is not a zip file; set Extract to false to deploy it as one object"
        ) from None
    with archive:
        for info in archive.infolist():
            if not info.is_dir():
                name = info.filename.lstrip("/")
                moto_backends.put_object(
                    ctx.account, bucket, f"{key}/{name}" if key else name, archive.read(info)
                )
    ctx.report(summary=f"Extracted to s3://{bucket}/{key}")


def check_configuration(name: str, configuration: dict) -> None:
    """Extract must be true or false; ObjectKey is needed when it is false (CreatePipeline)."""
    extract = str(configuration.get("Extract", "")).lower()
    if extract not in ("true", "false"):
        raise err.InvalidActionDeclarationException(
            f"Action configuration for action '{name}': Extract must be true or false"
        )
    if extract == "false" and not configuration.get("ObjectKey"):
        raise err.InvalidActionDeclarationException(
            f"Action configuration for action '{name}' is missing required configuration "
            "'ObjectKey' (needed when Extract is false)"
        )


RUNNER = Runner(run, check=check_configuration)
