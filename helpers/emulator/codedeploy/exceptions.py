"""CodeDeploy errors, one class per error shape of the botocore model (same names)."""

from __future__ import annotations

from ..core import AwsError


class ApplicationAlreadyExistsException(AwsError):
    pass


class ApplicationDoesNotExistException(AwsError):
    pass


class ApplicationNameRequiredException(AwsError):
    pass


class ArnNotSupportedException(AwsError):
    pass


class BatchLimitExceededException(AwsError):
    pass


class BucketNameFilterRequiredException(AwsError):
    pass


class DeploymentAlreadyCompletedException(AwsError):
    pass


class DeploymentConfigAlreadyExistsException(AwsError):
    pass


class DeploymentConfigDoesNotExistException(AwsError):
    pass


class DeploymentConfigInUseException(AwsError):
    pass


class DeploymentConfigNameRequiredException(AwsError):
    pass


class DeploymentDoesNotExistException(AwsError):
    pass


class DeploymentGroupAlreadyExistsException(AwsError):
    pass


class DeploymentGroupDoesNotExistException(AwsError):
    pass


class DeploymentGroupNameRequiredException(AwsError):
    pass


class DeploymentIdRequiredException(AwsError):
    pass


class DeploymentIsNotInReadyStateException(AwsError):
    pass


class DeploymentLimitExceededException(AwsError):
    pass


class DeploymentNotStartedException(AwsError):
    pass


class DeploymentTargetDoesNotExistException(AwsError):
    pass


class DeploymentTargetIdRequiredException(AwsError):
    pass


class DeploymentTargetListSizeExceededException(AwsError):
    pass


class DescriptionTooLongException(AwsError):
    pass


class IamArnRequiredException(AwsError):
    pass


class IamSessionArnAlreadyRegisteredException(AwsError):
    pass


class IamUserArnAlreadyRegisteredException(AwsError):
    pass


class InstanceDoesNotExistException(AwsError):
    pass


class InstanceIdRequiredException(AwsError):
    pass


class InstanceNameAlreadyRegisteredException(AwsError):
    pass


class InstanceNameRequiredException(AwsError):
    pass


class InstanceNotRegisteredException(AwsError):
    pass


class InvalidApplicationNameException(AwsError):
    pass


class InvalidArnException(AwsError):
    pass


class InvalidAutoRollbackConfigException(AwsError):
    pass


class InvalidBucketNameFilterException(AwsError):
    pass


class InvalidComputePlatformException(AwsError):
    pass


class InvalidDeploymentConfigNameException(AwsError):
    pass


class InvalidDeploymentGroupNameException(AwsError):
    pass


class InvalidDeploymentIdException(AwsError):
    pass


class InvalidEC2TagCombinationException(AwsError):
    pass


class InvalidEC2TagException(AwsError):
    pass


class InvalidIamSessionArnException(AwsError):
    pass


class InvalidIamUserArnException(AwsError):
    pass


class InvalidInstanceNameException(AwsError):
    pass


class InvalidKeyPrefixFilterException(AwsError):
    pass


class InvalidMinimumHealthyHostValueException(AwsError):
    pass


class InvalidNextTokenException(AwsError):
    pass


class InvalidOnPremisesTagCombinationException(AwsError):
    pass


class InvalidOperationException(AwsError):
    pass


class InvalidRevisionException(AwsError):
    pass


class InvalidRoleException(AwsError):
    pass


class InvalidTagException(AwsError):
    pass


class InvalidTagFilterException(AwsError):
    pass


class InvalidTagsToAddException(AwsError):
    pass


class InvalidTargetFilterNameException(AwsError):
    pass


class InvalidTimeRangeException(AwsError):
    pass


class MultipleIamArnsProvidedException(AwsError):
    pass


class ResourceArnRequiredException(AwsError):
    pass


class RevisionDoesNotExistException(AwsError):
    pass


class RevisionRequiredException(AwsError):
    pass


class RoleRequiredException(AwsError):
    pass


class TagLimitExceededException(AwsError):
    pass


class TagRequiredException(AwsError):
    pass


class UnsupportedActionForDeploymentTypeException(AwsError):
    pass


class GitHubAccountTokenDoesNotExistException(AwsError):
    pass
