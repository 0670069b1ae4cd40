"""The call recorder names REST services' operations as IAM actions (the learner policy)."""

from __future__ import annotations

from helpers.emulator.recorder import iam_action


def signed(service: str, method: str, path: str) -> dict:
    return {
        "HTTP_AUTHORIZATION": (
            f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/{service}/aws4_request, "
            "SignedHeaders=host, Signature=0"
        ),
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_TYPE": "application/json",
    }


def test_codestar_notifications_operations_are_named_by_method_and_path():
    service = "codestar-notifications"
    assert iam_action(signed(service, "POST", "/listNotificationRules")) == (
        f"{service}:ListNotificationRules"
    )
    arn = "arn:aws:codestar-notifications:us-east-1:123456789012:notificationrule/abc"
    assert iam_action(signed(service, "POST", f"/untagResource/{arn}")) == (
        f"{service}:UntagResource"
    )
    assert iam_action(signed(service, "GET", "/listNotificationRules")) is None
    assert iam_action(signed("nosuchservice", "POST", "/listNotificationRules")) is None
