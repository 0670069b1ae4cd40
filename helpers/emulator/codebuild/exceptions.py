"""CodeBuild's errors, named as in the botocore model."""

from __future__ import annotations

from ..core import AwsError


class InvalidInputException(AwsError):
    pass


class ResourceNotFoundException(AwsError):
    pass


class ResourceAlreadyExistsException(AwsError):
    pass


class AccountLimitExceededException(AwsError):
    pass


class OAuthProviderException(AwsError):
    pass
