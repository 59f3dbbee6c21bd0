"""Use cases: one function each, (session, *, actor, now, ...); commits once, audits in the same
transaction."""
