"""Customer accounts: who may work on which account, editing, CSV import, health signals and early warning.

Owns the account record, its contacts and contract terms, the health readings and the
early-warning rules evaluated on them (`health` is pure: no I/O, no clock). It must never
import streamlit, and never change an incident: incidents are `core.incident`'s.
"""
