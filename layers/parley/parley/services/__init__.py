"""Use cases: business rules in terms of the principal and domain models; storage through parley.store."""
