"""Incidents: the lifecycle, escalation, the flows that change an incident, the queries and read models of it.

Owns every write to an incident (open, milestones, status moves, escalation, roles, actions),
each inside the caller's unit of work with the permission checked here, and the read models
pages render. `lifecycle` and `escalation` are pure. It must never import streamlit.
"""
