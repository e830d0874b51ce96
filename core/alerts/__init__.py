"""Alerts that fire when nobody has the app open: the policy's alert rules, the scheduler, acknowledge links.

`rules` (pure) turns an incident's clocks, ladder and client schedule into the notifications due
and the next moment one will be; `scheduler` runs one pass (queue what is due, deliver through
`core.outbox`); `links` signs single-use acknowledge links; `acknowledge` records what an
acknowledgement means for the incident.
"""
