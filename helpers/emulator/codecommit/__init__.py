"""The local CodeCommit: git-backed repositories with AWS\x27s API."""
