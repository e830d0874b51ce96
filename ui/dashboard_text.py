"""Words of the SLA dashboard: the metric definitions shown on the page and the breakdown choices.

Kept apart from the page script so it stays short; the definitions restate,
in plain words, what core.sla.metrics computes. Nothing here queries or computes.
"""

from __future__ import annotations

from core.sla.metrics import DEFAULT_HOURS_PER_WEEK, DEFAULT_REPEAT_WINDOW, DURATION_BOUNDS
from core.vocabulary import EMERGENCY_SEVERITIES

_DEFINITIONS = f"""
- **Clock states.** Every incident has one clock per target its policy sets (acknowledge, notify the
  client, mobilise, resolve, the hard resolution limit, reach the required escalation level). A clock
  is **met** when its milestone came before the deadline, **breached** when it came after it *or* when
  it is still running past the deadline, **running** while open and in time, **paused** while the
  policy lets it pause (pauses push the deadline out). Resolving an incident stops every clock.
  A reopened incident counts by its current state: its resolution clock runs again from detection.
- **Level responses** ("L2 responds"): once an incident is escalated to a level, that level must respond
  within the policy's time for its severity (or plan), counted from the escalation. It is met when the
  response is recorded in time (or the incident is resolved first); levels never reached have no clock.
- **Attainment %** = met / (met + breached). Running and paused clocks are not counted until decided.
- **Time to acknowledge, notify, mobilise, resolve**: wall-clock time from detection to the milestone
  (or to resolution when the milestone was never recorded), for clocks that stopped. Median and 90th
  percentile come from a histogram with fixed bounds (1 min ... 90 days); each value is exact to within
  its bucket. Only incidents whose policy sets that clock are counted.
- **The client-update cadence** restarts with every update and is not part of attainment.
- **Repeat incident**: the same customer had another incident detected in the
  {DEFAULT_REPEAT_WINDOW.days} days before this one.
- **Emergency work**: hours from detection to resolution of {" and ".join(EMERGENCY_SEVERITIES)} incidents (open ones
  up to now), by week of detection, as a share of capacity = people x {DEFAULT_HOURS_PER_WEEK:g} planned hours a week.
  It assumes one person works an emergency while it is open.
- **Objectives** come from each policy's `objectives` section and are measured on that policy's incidents:
  "done within X" objectives count the clocks stopped within X (open clocks already past X count as
  failures); without severities they cover the clocks whose own target is X (e.g. outages with a 2-hour
  target). Thresholds must be one of the histogram bounds ({len(DURATION_BOUNDS)} of them).
- **Weeks** run Monday 00:00 to Sunday 24:00 UTC for everyone (the summary is kept per UTC week), so a
  range's figures are the same whoever reads them. **Breaches by hour** use the weekday and hour of
  detection in {{zone}}, each incident at that day's offset (summer time included).
- **CSM** means the owner of the account when the incident was last updated.
"""


def definitions(time_zone: str) -> str:
    """The metric definitions, saying which zone the hour-of-detection figures are in."""
    return _DEFINITIONS.replace("{zone}", f"your zone ({time_zone})")


def breakdown_options(is_csm: bool) -> dict[str, str]:
    """The dimensions attainment can be broken down by (a CSM has only their own, so no CSM choice)."""
    options = {"severity": "Severity", "tier": "Tier", "policy_name": "Policy", "week": "Week",
               "account_id": "Customer", "csm_id": "CSM"}
    if is_csm:
        options.pop("csm_id")
    return options
