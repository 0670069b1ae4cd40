"""AWS CodeConnections (and its former name, CodeStar Connections), which moto does not
serve, and the local git host behind the connections.

models.py   state: connections per account and region (connection_lab_backends); handshake
handlers.py the operations, their replies, and the dispatch for both APIs and protocols
cbor.py     the smithy-rpc-v2-cbor protocol boto3 speaks to codeconnections
urls.py     the paths moto's server and mock_aws route to handlers.py (moto's urls.py form)
git_host.py the local "GitHub/GitLab/Bitbucket": <endpoint>/<provider>/<owner>/<name>.git
"""
