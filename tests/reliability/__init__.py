"""Reliability tests: the ledger invariant under concurrency, faults, hostile input, security."""
