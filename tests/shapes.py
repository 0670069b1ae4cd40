"""Every reply checked: validate what the emulator answers against the botocore output shape.

check_replies(client) hooks a client so that every successful reply is validated with
botocore.validate.validate_parameters(reply, operation_model.output_shape), the check
botocore's own Stubber makes; a reply that does not fit fails the test at the call.
"""

from __future__ import annotations

from botocore.validate import validate_parameters

# CodeBuild answers empty top-level lists where its model says "at least one item"
# (ListBuildsForProject's ids, BatchGetBuilds' buildsNotFound...): the user guide's example
# outputs show them, and the SDK's maintainers confirm the model is wrong there
# (github.com/aws/aws-sdk/issues/343). The rest of such a reply is validated as usual.
EMPTY_LISTS_ANSWERED = {"codebuild"}


class ReplyShapeError(AssertionError):
    pass


def assert_reply_shape(operation_model, reply: dict) -> None:
    shape = operation_model.output_shape
    body = {k: v for k, v in reply.items() if k != "ResponseMetadata"}
    if operation_model.service_model.service_name in EMPTY_LISTS_ANSWERED:
        body = {k: v for k, v in body.items() if v != []}
    if shape is None:
        if body:
            raise ReplyShapeError(f"{operation_model.name} has no output but replied {body}")
        return
    try:
        validate_parameters(body, shape)
    except Exception as error:
        raise ReplyShapeError(
            f"{operation_model.name} reply does not fit its shape: {error}"
        ) from None


def check_replies(client):
    def validate(http_response, parsed, model, **_):
        if http_response.status_code < 300:
            assert_reply_shape(model, parsed)

    client.meta.events.register("after-call.*.*", validate)
    return client
