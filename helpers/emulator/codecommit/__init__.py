"""The local CodeCommit: git-backed repositories with AWS's API.

Laid out as every service of the kit (CONTRIBUTING.md, "the template"):
  models.py      state and its create/read/update/delete (the registry
                 codecommit_lab_backends), with gitstore.py and files.py for the git side;
                 no reply shaping.
  (runtime.py)   none: CodeCommit has no long-running work.
  handlers.py    the API operations (methods named as the operations, copied onto moto's
                 response class by core.install_handlers) and the replies, `<thing>_reply`
                 functions; helpers on the handlers class are named `_lab_*`.
  exceptions.py  error classes generated from the botocore model (core.error_classes).
  git_http.py    git's smart HTTP protocol, for clones and pushes.
"""
