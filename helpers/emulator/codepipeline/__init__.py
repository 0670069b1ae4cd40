"""The local CodePipeline: pipeline definitions checked as AWS checks them, and an engine
that really runs executions (CodeCommit/S3 sources, CodeBuild, CodeDeploy, S3 deploy,
manual approval) with AWS's stage locks, execution modes, variables and statuses."""
