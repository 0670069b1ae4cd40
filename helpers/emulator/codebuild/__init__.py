"""CodeBuild offline: projects, builds that really run their buildspec, logs, artifacts, reports.

Laid out as every service of the kit (CONTRIBUTING.md, "the template"):
  models.py      state and its create/read/update/delete (the registry
                 codebuild_lab_backends); no reply shaping.
  runtime.py     long-running work: a build run phase by phase, with its helper modules
                 shell.py, buildspec.py, sources.py, artifacts.py, reports.py, logs.py.
  handlers.py    the API operations (methods named as the operations, copied onto moto's
                 response class by core.install_handlers) and the replies, `<thing>_reply`
                 functions; helpers on the handlers class are named `_lab_*`.
  exceptions.py  error classes generated from the botocore model (core.error_classes).
"""
