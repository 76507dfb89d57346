"""Resolver: clusters, stable customer ids and customer profiles.

(Named ``resolver`` rather than ``resolve`` so that ``cxid.resolve`` stays the
top-level function.)
"""
