"""Linking: deterministic identifier links, then probabilistic fragment matching."""
