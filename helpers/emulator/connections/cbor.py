"""The smithy-rpc-v2-cbor protocol, server side: codeconnections' model lists it before JSON
(botocore prefers JSON; other SDKs may take CBOR): POST
/service/<Service>/operation/<Operation> with a CBOR body and the header
`smithy-protocol: rpc-v2-cbor`; replies and errors are CBOR maps too.

botocore's own CBOR code does both halves: its response parser decodes any CBOR item
(no schema needed), its request serializer encodes a value by its shape. A request body is
hostile: whatever that decoder raises, or a value that is not a map of text keys, is a
SerializationException, as for a JSON body that cannot be read.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

from botocore.parsers import RpcV2CBORParser
from botocore.serialize import RpcV2CBORSerializer

from ..core import SerializationException, service_model

HEADER = "smithy-protocol"
VALUE = "rpc-v2-cbor"
CONTENT_TYPE = "application/cbor"
_PATH = re.compile(r"^/service/([A-Za-z0-9_]{1,64})/operation/([A-Za-z0-9]{1,64})$")


def is_cbor(headers: Any) -> bool:
    return (headers.get(HEADER) or "").strip().lower() == VALUE


def operation_of(path: str) -> tuple[str, str] | None:
    """(service id in the path, operation) of an rpc-v2 path, or None."""
    match = _PATH.match(path)
    return (match.group(1), match.group(2)) if match else None


def decode_request(body: bytes) -> dict:
    if not body:
        return {}
    try:
        value = RpcV2CBORParser().parse_data_item(io.BufferedReader(io.BytesIO(body)))
    except RecursionError:
        raise SerializationException("Request body is nested too deeply") from None
    except Exception as error:  # the decoder's own errors, struct errors, short reads
        raise SerializationException(f"Request body is not valid CBOR: {error}") from None
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise SerializationException("Request body must be a CBOR map with text keys")
    return value


def encode_reply(service: str, operation: str, json_body: str | bytes) -> bytes:
    """The JSON reply the handlers made, as the operation's CBOR output."""
    value = json.loads(json_body or "{}")
    shape = service_model(service).operation_model(operation).output_shape
    if shape is None:
        return b"\xa0"  # an empty map
    body = bytearray()
    RpcV2CBORSerializer()._serialize_data_item(body, value, shape)
    return bytes(body)


def encode_error(json_body: str | bytes) -> bytes:
    """An AWS JSON error body ({"__type": ..., "message": ...}) as a CBOR map of text."""
    try:
        value = json.loads(json_body or "{}")
    except ValueError:
        value = {}
    fields = {
        "__type": str(value.get("__type", "InternalFailure")),
        "message": str(value.get("message", "")),
    }
    # Text a CBOR string can hold (a message may quote what the request carried).
    fields = {key: text.encode("utf-8", "replace").decode() for key, text in fields.items()}
    serializer = RpcV2CBORSerializer()
    body = bytearray([0xA0 | len(fields)])  # a map of 2 pairs
    for key, text in fields.items():
        serializer._serialize_type_string(body, key, None, None)
        serializer._serialize_type_string(body, text, None, None)
    return bytes(body)
