"""STS as the signature check needs it: GetSessionToken credentials that work, and
GetCallerIdentity that names whoever signed.

moto answers GetSessionToken with one fixed example key it does not remember, and
GetCallerIdentity with `user/moto` for any key it did not issue. The kit issues real
session credentials (identities.issue_session) and names the server's own credentials as
the account's root user, as AWS does for root access keys.
"""

from __future__ import annotations

import re

from moto.core.responses import ActionResult
from moto.sts.responses import TokenResponse

from . import identities

DEFAULT_DURATION = 43200  # 12 hours, AWS's default for GetSessionToken
MIN_DURATION, MAX_DURATION = 900, 129600


def get_session_token(self: TokenResponse) -> ActionResult:
    duration = self._get_int_param("DurationSeconds", DEFAULT_DURATION)
    caller = _caller(self)
    if caller is None:  # only reachable under mock_aws, where nothing is signed
        return _moto_get_session_token(self)
    if not MIN_DURATION <= duration <= MAX_DURATION:
        from moto.sts.exceptions import STSValidationError

        raise STSValidationError(
            f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to "
            f"satisfy constraint: Member must have value between {MIN_DURATION} and "
            f"{MAX_DURATION}"
        )
    session = identities.issue_session(caller, duration)
    return ActionResult(
        {
            "Credentials": {
                "AccessKeyId": session.access_key,
                "SecretAccessKey": session.secret_key,
                "SessionToken": session.session_token,
                "Expiration": session.expires,
            }
        }
    )


def get_caller_identity(self: TokenResponse) -> ActionResult:
    caller = _caller(self)
    if (
        caller is None
        or caller.session_token is not None
        and caller.arn.startswith("arn:aws:sts::")
    ):
        return _moto_get_caller_identity(self)  # moto knows its assumed roles
    return ActionResult({"UserId": caller.user_id, "Account": caller.account_id, "Arn": caller.arn})


def _caller(handler: TokenResponse) -> identities.Identity | None:
    """Who signed (moto's own key parser knows only 20-character AKIA... ids)."""
    found = _CREDENTIAL.search(handler.headers.get("Authorization", "")) or _CREDENTIAL.search(
        handler.querystring.get("X-Amz-Credential", [""])[0]
    )
    try:
        return identities.lookup(found.group(1)) if found else None
    except identities.Unknown:
        return None


_CREDENTIAL = re.compile(r"(?:Credential=|^)([^/,\s]+)/")


_moto_get_session_token = TokenResponse.get_session_token
_moto_get_caller_identity = TokenResponse.get_caller_identity


def install() -> None:
    # Replacing moto's methods on its class, which mypy's types do not foresee.
    TokenResponse.get_session_token = get_session_token  # type: ignore[method-assign]
    TokenResponse.get_caller_identity = get_caller_identity  # type: ignore[method-assign]
