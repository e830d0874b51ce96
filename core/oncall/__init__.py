"""On-call: who answers each escalation level at any moment, and how each person is reached.

`rotation` (pure: rotations, follow-the-sun, overrides), `resolve` (reading who is on call from
the database), `schedules` (storing schedules, layers, overrides and swaps, with their checks and
permissions), `views` (what the On-call page shows), `reach` (a person's notification rules and
quiet hours), `contacts` (people paged from outside the app). Paging itself, the climb from
the primary to the manager, is `core.alerts.paging`'s.
"""
