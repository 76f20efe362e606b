"""Calico-shaped flow logs: who talked to whom, aggregated per flush interval."""
