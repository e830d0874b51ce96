"""The demo dataset: a believable team, accounts and two years of incidents, built through the real flows.

Deterministic for a given `now`. Used by `python -m core init` on an empty database and by the
benchmark; nothing in the domain packages may import it.
"""
