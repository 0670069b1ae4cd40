"""CodeDeploy for the local AWS: EC2/On-premises deployments that really deploy."""
