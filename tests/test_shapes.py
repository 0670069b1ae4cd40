"""The reply-shape check itself must catch a reply that does not fit."""

import pytest

from helpers.emulator.core import service_model
from tests.shapes import ReplyShapeError, assert_reply_shape


def test_wrong_reply_is_caught():
    operation = service_model("codecommit").operation_model("GetBranch")
    assert_reply_shape(operation, {"branch": {"branchName": "main", "commitId": "a" * 40}})
    with pytest.raises(ReplyShapeError):
        assert_reply_shape(operation, {"branch": {"branchName": 5}})
    with pytest.raises(ReplyShapeError):
        assert_reply_shape(operation, {"unexpected": 1})
