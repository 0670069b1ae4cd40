"""AWS CodeStar Notifications, which moto does not serve: notification rules on CodeCommit
repositories, CodeBuild projects, CodeDeploy applications and CodePipeline pipelines, and
their delivery to SNS topics.

models.py   state: rules, targets, the event types (notification_lab_backends); delivery
handlers.py the operations, their replies, and the REST-JSON dispatch moto has no class for
urls.py     the paths moto's server and mock_aws route to handlers.py (moto's urls.py form)
"""
