"""Who may call the local AWS: the server's own credentials and those the local AWS issues.

AWS signs every request with an access key whose secret only AWS and the caller know. The
local server does the same: it knows

* the pair it was started with (its learner's: `root`),
* IAM access keys made with CreateAccessKey (active ones only; a deleted key is gone),
* STS AssumeRole sessions (with their session token, until they expire),
* STS GetSessionToken sessions (moto answers those with one fixed example key it does
  not remember, so the kit issues and remembers them here).

moto keeps IAM keys and assumed roles in its backends; this module is the one place that
reads them (through moto_backends) for authentication.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID

from ..offline_credentials import random_pair
from . import moto_backends

ROOT_ACCOUNT_ID = DEFAULT_ACCOUNT_ID


@dataclass(frozen=True)
class Identity:
    """One set of credentials the server accepts, and whose they are."""

    access_key: str
    secret_key: str
    account_id: str
    arn: str
    user_id: str
    session_token: str | None = None
    expires: dt.datetime | None = None

    def expired(self, now: dt.datetime | None = None) -> bool:
        return self.expires is not None and (now or _utcnow()) >= self.expires


class Unknown(LookupError):
    """No credentials with that access key id (never issued, deleted or inactive)."""


_lock = threading.Lock()
_roots: dict[str, tuple[Identity, int]] = {}  # the servers' own pairs, with a use count
_latest_root: Identity | None = None
_sessions: dict[str, Identity] = {}  # GetSessionToken credentials, by access key id


def add_root(access_key: str, secret_key: str) -> None:
    """A server's own pair (its learner's). A process may run several servers (tests, a
    notebook beside a shared one): each one's pair is accepted while that server runs."""
    global _latest_root
    identity = Identity(
        access_key,
        secret_key,
        ROOT_ACCOUNT_ID,
        f"arn:aws:iam::{ROOT_ACCOUNT_ID}:root",
        ROOT_ACCOUNT_ID,
    )
    with _lock:
        known, count = _roots.get(access_key, (identity, 0))
        if known.secret_key != secret_key:  # one access key id, one secret
            raise ValueError(f"access key {access_key} is already used with another secret")
        _roots[access_key] = (identity, count + 1)
        _latest_root = identity


def remove_root(access_key: str) -> None:
    global _latest_root
    with _lock:
        identity, count = _roots.get(access_key, (None, 0))
        if count > 1:
            _roots[access_key] = (identity, count - 1)  # type: ignore[assignment]
        else:
            _roots.pop(access_key, None)
        if _latest_root is not None and _latest_root.access_key not in _roots:
            _latest_root = next((known for known, _ in _roots.values()), None)


def root() -> Identity | None:
    """The root identity of the most recently started server still running."""
    return _latest_root


_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


def caller_arn(headers: Any, account: str) -> str:
    """The ARN of who signed a request (authors, approvers, actors) from its headers; the
    account's root when the key is not one the local AWS issued (mock_aws's test keys).
    The signature was checked before (trust.py): here the key only names the caller."""
    found = _CREDENTIAL.search((headers or {}).get("Authorization", ""))
    if found:
        try:
            return lookup(found.group(1)).arn
        except Unknown:
            pass
    return f"arn:aws:iam::{account}:root"


def lookup(access_key: str) -> Identity:
    """The identity of access_key, or Unknown. Expiry is the caller's to check."""
    with _lock:
        known = _roots.get(access_key)
        session = _sessions.get(access_key)
    if known is not None:
        return known[0]
    if session is not None:
        return session
    found = _moto_key(access_key)
    if found is None:
        raise Unknown(access_key)
    return found


def issue_session(caller: Identity, duration_seconds: int) -> Identity:
    """GetSessionToken: temporary credentials that act as the caller, with a token."""
    key, secret = random_pair()
    key = "ASIA" + key[4:]
    expires = _utcnow() + dt.timedelta(seconds=duration_seconds)
    session = Identity(
        key,
        secret,
        caller.account_id,
        caller.arn,
        caller.user_id,
        session_token=secrets.token_urlsafe(96),
        expires=expires,
    )
    with _lock:
        _forget_expired()
        _sessions[key] = session
    return session


def role_session(
    role_arn: str, session_name: str, duration_seconds: int, region: str
) -> tuple[str, str, str]:
    """Temporary credentials of a service role, as AWS gives a build: (key, secret, token).

    The role is assumed in moto's STS, so GetCallerIdentity inside the build answers
    assumed-role/<role>/<session>. Without a usable role: a session of the learner's own.
    """
    duration = max(900, min(duration_seconds, 43200))
    if role_arn.startswith("arn:aws:iam::"):
        return moto_backends.assume_role(role_arn, session_name[:64], duration, region)
    owner = root()
    if owner is None:
        raise Unknown("the server has no credentials of its own")
    session = issue_session(owner, duration)
    return session.access_key, session.secret_key, session.session_token or ""


def forget_sessions() -> None:
    """Drop every GetSessionToken session (moto's reset drops the rest)."""
    with _lock:
        _sessions.clear()


def _forget_expired() -> None:
    now = _utcnow()
    for key in [key for key, session in _sessions.items() if session.expired(now)]:
        del _sessions[key]


def _moto_key(access_key: str) -> Identity | None:
    """An access key moto's IAM issued (a user's, or an assumed role's temporary one)."""
    key = moto_backends.iam_access_key(access_key)
    if key is None:
        return None
    if key.user_name is not None:
        if not key.active:
            return None
        user = moto_backends.iam_user(key)
        if user is None:
            return None
        return Identity(access_key, key.secret_key, key.account_id, user.arn, user.user_id)
    role = moto_backends.assumed_role(key)
    if role is None:
        return None
    return Identity(
        access_key,
        role.secret_key,
        role.account_id,
        role.arn,
        role.user_id,
        session_token=role.session_token,
        expires=role.expires,
    )


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
