"""CodeDeploy for the local AWS: EC2/On-premises deployments that really deploy.

Laid out as every service of the kit (CONTRIBUTING.md, "the template"):
  models.py      state and its create/read/update/delete (the registry
                 codedeploy_lab_backends); no reply shaping.
  runtime.py     long-running work: the deployment state machine, with its helper modules
                 rollout.py (health arithmetic), agent.py (the emulated agent running the
                 appspec's hooks), bundles.py (revisions from S3) and targets.py (which
                 instances a group reaches, and each offline instance's folder).
  handlers.py    the API operations (methods named as the operations, copied onto moto's
                 response class by core.install_handlers) and the replies, `<thing>_reply`
                 functions; helpers of the handlers are module functions.
  exceptions.py  error classes generated from the botocore model (core.error_classes).
"""
