"""Scale-out storage tests: the same checks on FileStorage, ZEO and RelStorage (PostgreSQL)."""
