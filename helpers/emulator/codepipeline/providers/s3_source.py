"""S3 source: an object (a zip) of a bucket in the local S3, copied into the artifact store;
variables ETag and VersionId. The revision's summary is the object's user metadata
codepipeline-artifact-revision-summary, when it has one (pipelines-view-cli.md)."""

from __future__ import annotations

from ... import moto_backends
from ...core import now
from .. import artifacts
from .base import ActionContext, ActionFailed, Revision, Runner

REVISION_SUMMARY_KEY = "codepipeline-artifact-revision-summary"


def run(ctx: ActionContext) -> None:
    bucket = ctx.configuration["S3Bucket"]
    key = ctx.configuration["S3ObjectKey"]
    try:
        item = moto_backends.get_object(ctx.account, bucket, key, ctx.source_revision)
    except moto_backends.S3Refused as error:
        raise ActionFailed(
            f"Could not read s3://{bucket}/{key}: {error.reason}", "ConfigurationError"
        ) from None
    if item is None:
        raise ActionFailed(f"The object s3://{bucket}/{key} does not exist", "ConfigurationError")
    [location] = ctx.outputs.values()
    artifacts.put(ctx.account, location, item.data)
    etag = (item.etag or "").strip('"')
    version = item.version_id or "null"
    ctx.output_variables.update({"ETag": etag, "VersionId": version})
    created = item.last_modified or now()
    summary = item.metadata.get(REVISION_SUMMARY_KEY) or None
    ctx.revision = Revision(version, etag, created, summary, ctx.console("s3", f"/{bucket}"))
    ctx.report(external_id=version, summary=f"Amazon S3 version id: {version}")


RUNNER = Runner(run, revision_type="S3_OBJECT_VERSION_ID")
