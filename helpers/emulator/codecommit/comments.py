"""Comments on pull requests and on compared commits, their replies and emoji reactions
(how-to-review-pull-request.md, how-to-commit-comment.md), per account and region.

A comment belongs to a context: the repository, the before and after commits, the pull
request if any, and an optional location (a file, a position, BEFORE or AFTER). Replies
share their parent's context; Get*Comments* answer one group per context, as AWS does.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from ..core import now
from . import exceptions as err
from . import files

MAX_CONTENT = 10240  # "Comment length: Maximum of 10,240 characters" (limits.md)
MAX_REACTIONS_PER_COMMENT = 1000  # kit bound: a comment's reactions stay small


@dataclass(frozen=True)
class Reaction:
    emoji: str
    short_code: str  # as AWS counts reactions: THUMBSUP
    unicode: str


# The emojis CodeCommit takes. The guide's own examples: thumbsup, thumbsdown, confused;
# the others as the guide's table lists them (the local copy of the guide lacks the table).
REACTIONS = [
    Reaction("👍", "THUMBSUP", "U+1F44D"),
    Reaction("👎", "THUMBSDOWN", "U+1F44E"),
    Reaction("😀", "SMILE", "U+1F600"),
    Reaction("❤", "HEART", "U+02764"),
    Reaction("😠", "ANGRY", "U+1F620"),
    Reaction("😕", "CONFUSED", "U+1F615"),
    Reaction("😂", "LAUGHING", "U+1F602"),
    Reaction("🎉", "HOORAY", "U+1F389"),
]


def reaction_of(value: str | None) -> Reaction:
    """A reaction from an emoji, a short code (:thumbsup:) or a Unicode value (U+1F44D)."""
    if not value:
        raise err.ReactionValueRequiredException("A reaction value is required.")
    for reaction in REACTIONS:
        if value in (reaction.emoji, reaction.unicode) or (
            value.strip(":").upper() == reaction.short_code
        ):
            return reaction
    raise err.InvalidReactionValueException(f"The reaction value {value!r} is not supported.")


@dataclass(frozen=True)
class Context:
    repository_name: str
    before_commit: str | None
    after_commit: str
    pull_request_id: str | None = None
    before_blob: str | None = None
    after_blob: str | None = None
    file_path: str | None = None
    file_position: int | None = None
    relative_file_version: str | None = None

    @property
    def location(self) -> dict | None:
        if self.file_path is None:
            return None
        location: dict = {"filePath": self.file_path}
        if self.file_position is not None:
            location["filePosition"] = self.file_position
        if self.relative_file_version is not None:
            location["relativeFileVersion"] = self.relative_file_version
        return location


@dataclass
class Comment:
    comment_id: str
    content: str
    author_arn: str
    context: Context
    in_reply_to: str | None = None
    client_request_token: str | None = None
    created: datetime = field(default_factory=now)
    modified: datetime = field(default_factory=now)
    deleted: bool = False
    reactions: dict[str, Reaction] = field(default_factory=dict)  # user ARN -> reaction


class Comments:
    """The comments of one account and region (held by the CodeCommit backend)."""

    def __init__(self) -> None:
        self.items: dict[str, Comment] = {}
        self.by_token: dict[str, str] = {}
        self.lock = threading.RLock()

    def post(
        self,
        context: Context,
        content: str | None,
        author: str,
        token: str | None,
        in_reply_to: str | None = None,
    ) -> Comment:
        validate_content(content)
        with self.lock:
            if token and token in self.by_token:
                existing = self.items[self.by_token[token]]
                same = (existing.content, existing.context, existing.in_reply_to) == (
                    content,
                    context,
                    in_reply_to,
                )
                if not same:
                    raise err.IdempotencyParameterMismatchException(
                        "The client request token was used before with other parameters."
                    )
                return existing
            comment = Comment(
                str(uuid.uuid4()), str(content), author, context, in_reply_to, token or None
            )
            self.items[comment.comment_id] = comment
            if token:
                self.by_token[token] = comment.comment_id
            return comment

    def reply(self, parent_id: str | None, content: str | None, author: str, token: str | None):
        parent = self.get(parent_id, deleted_ok=True)
        return self.post(parent.context, content, author, token, parent.comment_id)

    def get(self, comment_id: str | None, deleted_ok: bool = False) -> Comment:
        if not comment_id:
            raise err.CommentIdRequiredException("A comment ID is required.")
        try:
            uuid.UUID(comment_id)
        except ValueError:
            raise err.InvalidCommentIdException(
                f"The comment ID {comment_id} is not valid."
            ) from None
        comment = self.items.get(comment_id)
        if comment is None:
            raise err.CommentDoesNotExistException(f"The comment {comment_id} does not exist.")
        if comment.deleted and not deleted_ok:
            raise err.CommentDeletedException(f"The comment {comment_id} has been deleted.")
        return comment

    def update(self, comment_id: str | None, content: str | None, caller: str) -> Comment:
        comment = self.get(comment_id)
        validate_content(content)
        if comment.author_arn != caller:
            raise err.CommentNotCreatedByCallerException(
                "Only the author of a comment can edit it."
            )
        comment.content = str(content)
        comment.modified = now()
        return comment

    def delete_content(self, comment_id: str | None) -> Comment:
        comment = self.get(comment_id)
        comment.content = ""
        comment.deleted = True
        comment.modified = now()
        return comment

    def react(self, comment_id: str | None, value: str | None, caller: str) -> None:
        comment = self.get(comment_id)
        reaction = reaction_of(value)
        with self.lock:
            if caller not in comment.reactions and (
                len(comment.reactions) >= MAX_REACTIONS_PER_COMMENT
            ):
                raise err.ReactionLimitExceededException(
                    "The comment has reached its limit of reactions."
                )
            comment.reactions[caller] = reaction  # one reaction per user: this replaces it

    def reactions(self, comment_id: str | None, user: str | None) -> list[dict]:
        comment = self.get(comment_id)
        if user is not None and not user.startswith("arn:"):
            raise err.InvalidReactionUserArnException(f"The user ARN {user} is not valid.")
        grouped: dict[Reaction, list[str]] = {}
        for arn, reaction in comment.reactions.items():
            if user is None or arn == user:
                grouped.setdefault(reaction, []).append(arn)
        return [
            {
                "reaction": {
                    "emoji": reaction.emoji,
                    "shortCode": reaction.short_code.lower(),
                    "unicode": reaction.unicode,
                },
                "reactionUsers": sorted(users),
                "reactionsFromDeletedUsersCount": 0,
            }
            for reaction, users in grouped.items()
        ]

    def threads(self, keep) -> list[tuple[Context, list[Comment]]]:
        """The comments for which keep(context) holds, one group per context, oldest first."""
        groups: dict[Context, list[Comment]] = {}
        for comment in sorted(self.items.values(), key=lambda c: c.created):
            if keep(comment.context):
                groups.setdefault(comment.context, []).append(comment)
        return list(groups.items())

    def forget(self, repository_name: str) -> None:
        """Comments go with their repository."""
        with self.lock:
            for comment_id, comment in list(self.items.items()):
                if comment.context.repository_name == repository_name:
                    del self.items[comment_id]


def validate_content(content: str | None) -> None:
    if not content:
        raise err.CommentContentRequiredException("The comment content is required.")
    if len(content) > MAX_CONTENT:
        raise err.CommentContentSizeLimitExceededException(
            f"A comment has at most {MAX_CONTENT} characters."
        )


def location_of(location: dict | None) -> tuple[str | None, int | None, str | None]:
    """(file path, position, BEFORE|AFTER) of a request's location, checked."""
    if location is None:
        return None, None, None
    path = files.clean_path(location.get("filePath"))
    position = location.get("filePosition")
    if position is not None and position < 0:
        raise err.InvalidFilePositionException("The file position must not be negative.")
    version = location.get("relativeFileVersion")
    if version is not None and version not in ("BEFORE", "AFTER"):
        raise err.InvalidRelativeFileVersionEnumException("relativeFileVersion is BEFORE or AFTER.")
    return path, position, version
