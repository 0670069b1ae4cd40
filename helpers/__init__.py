"""The CodePipeline lab kit's helpers: what the notebooks, tests and teardown.py import.

Notebooks start with::

    from helpers import lab
    kit = lab.setup()          # offline by default; LAB_MODE=aws for a real account
    codecommit = kit.client("codecommit")
"""
