"""Policies as data: the schema, the rule language, the loader, working-time calendars, saved versions and presets.

Owns what one organisation's playbook says (severities, targets, escalation levels, cadences,
calendars), validated on load. `notation`, `rules`, `schema`, `loading` and `calendar` are pure
(no database, no clock); only `store` reads and writes saved versions. It must never import
streamlit or decide a triage.
"""
