"""The local CodePipeline: pipeline definitions checked as AWS checks them, and a runtime
that really runs executions (CodeCommit/S3 sources, CodeBuild, CodeDeploy, S3 deploy,
manual approval) with AWS's stage locks, execution modes, variables and statuses.

The layout every service package of the emulator follows:
  models.py      state and its create/read/update/delete (codepipeline_lab_backends); no
                 reply shaping.
  runtime.py     long-running work: pipeline executions (with small helper modules: jobs,
                 retry, webhooks, variables, artifacts, custom_actions, validation).
  handlers.py    the API operations (methods named as the operations, copied onto moto's
                 response class by core.install_handlers) and the shaping of replies:
                 module functions named <thing>_reply; helpers on the handlers class are
                 named _lab_*.
  exceptions.py  error classes generated from the botocore model (core.error_classes).

Providers: action_types.py's catalogue is the one place that registers an action provider
(an ActionType carrying its providers/base.Runner); rules.py's RULE_TYPES the one place for
condition rule types (a RuleType carrying evaluate).
"""
