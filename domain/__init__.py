"""The pure episode domain: levels, policies, authorizations, claims and the decider."""
