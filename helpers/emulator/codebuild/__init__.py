"""CodeBuild offline: projects, builds that really run their buildspec, logs, artifacts, reports.

models.py holds the state and rules, runner.py runs a build phase by phase (with shell.py,
buildspec.py, sources.py, artifacts.py, reports.py, logs.py), handlers.py is the API.
"""
