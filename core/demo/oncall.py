"""Demo data for on-call: one schedule per escalation level, two outside contacts, an override and a swap.

Called by `core.demo.dataset.load` once the team exists. Every level L1..L4 gets a schedule with a
primary and a secondary layer made of the demo team (weekly and daily handoffs in the members'
own zones, and a follow-the-sun primary for L2 across Tokyo, London and Chicago), a manager, five
minutes to acknowledge and two repeats. An executive and a partner, who do not sign in, are the L4
manager and an L4 secondary member. One override (James covers a day of L1) and one swap still
waiting for an answer show what those look like. Deterministic for a given `now`; it writes only
through `core.oncall.schedules` and `core.oncall.contacts`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from core.oncall import contacts, schedules
from core.oncall.resolve import contact_who, user_who
from core.oncall.schedules import shifts_between
from core.people.access import Role
from core.people.users import Actor

# The seeder acts with admin standing, as the rest of the demo does.
DEMO = Actor(id=None, name="demo", role=Role.ADMIN)
ACK_TIMEOUT_MINUTES = 5
REPEATS = 2


def _monday(now: dt.datetime, weeks_back: int) -> dt.date:
    day = now.date() - dt.timedelta(days=now.weekday())
    return day - dt.timedelta(weeks=weeks_back)


def load(session: Session, team: dict[str, int], *, now: dt.datetime) -> dict[str, int]:
    """Create the contacts, the four schedules with their layers, one override and one pending swap; returns ids."""
    def who(username: str) -> str:
        return user_who(team[username])

    executive = contacts.add_contact(
        session, name="Dana Whitfield", organisation="Chief Operating Officer", email="dana.whitfield@example.com",
        phone="+1-555-0190", notes="Paged only when L4 goes unanswered; prefers a phone call.", actor=DEMO, now=now)
    partner = contacts.add_contact(
        session, name="Northbeam Hosting NOC", organisation="Northbeam Hosting (infrastructure partner)",
        email="noc@northbeam.example.com", phone="+1-555-0191",
        notes="The partner's 24/7 network operations centre; reached for outages of the hosting platform.",
        actor=DEMO, now=now)
    start = _monday(now, 4).isoformat()
    # (name, level, zone, manager, description, [(layer, rotation, first handoff, zone, members)])
    plans: list[tuple[str, str, str, str, str, list[tuple[str, str, str, str, list[Any]]]]] = [
        ("L1 technical lead on call", "L1", "Europe/London", who("lena"),
         "The first responders: a technical lead answers within minutes, a second CSM backs them up.",
         [("Primary", "weekly", f"{start}T09:00", "Europe/London",
           [who(u) for u in ("priya", "tom", "sofia", "james")]),
          ("Secondary", "daily", f"{start}T09:00", "Europe/Berlin", [who(u) for u in ("tom", "sofia", "priya")])]),
        ("L2 support manager on call", "L2", "UTC", who("marcus"),
         "Around the clock: Tokyo, London and Chicago each take the day shift of their own morning.",
         [("Primary", "follow_the_sun", f"{start}T00:00", "UTC",
           [{"who": who("mei"), "zone": "Asia/Tokyo", "from": "08:00"},
            {"who": who("priya"), "zone": "Europe/London", "from": "08:00"},
            {"who": who("james"), "zone": "America/Chicago", "from": "08:00"}]),
          ("Secondary", "weekly", f"{start}T09:00", "Europe/Madrid", [who("lena"), who("marcus")])]),
        ("L3 engineering lead on call", "L3", "America/New_York", who("nadia"),
         "Engineering leads for outages that need a fix in the product.",
         [("Primary", "weekly", f"{start}T09:00", "America/New_York", [who("marcus"), who("lena")]),
          ("Secondary", "daily", f"{start}T09:00", "Europe/Paris", [who("nadia"), who("lena")])]),
        ("L4 executive on call", "L4", "Europe/Paris", contact_who(executive.id),
         "Executive attention: the admin and the leads, then the partner's NOC, then the COO.",
         [("Primary", "weekly", f"{start}T09:00", "Europe/Paris", [who("nadia"), who("lena")]),
          ("Secondary", "weekly", f"{start}T09:00", "America/New_York",
           [who("marcus"), contact_who(partner.id)])]),
    ]
    ids: dict[str, int] = {}
    for name, level, zone, manager, description, layers in plans:
        schedule = schedules.create_schedule(
            session, name=name, level=level, time_zone=zone, manager=manager, description=description,
            ack_timeout_minutes=ACK_TIMEOUT_MINUTES, repeats=REPEATS, ack_expires_minutes=30, actor=DEMO, now=now)
        ids[level] = schedule.id
        for layer_name, kind, start_local, layer_zone, members in layers:
            schedules.add_layer(session, schedule.id, name=layer_name, rotation_kind=kind, start_local=start_local,
                                time_zone=layer_zone, members=members, actor=DEMO, now=now)
    # James covers tomorrow's working day on L1's primary layer.
    tomorrow = now.replace(hour=9, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    schedules.add_override(session, ids["L1"], position=1, who=who("james"), starts_at=tomorrow,
                           ends_at=tomorrow + dt.timedelta(hours=8),
                           reason="Covering while the person on call runs a customer workshop.", actor=DEMO, now=now)
    # Whoever is on L1's secondary layer in three days asks a colleague to take their afternoon.
    afternoon = now.replace(hour=13, minute=0, second=0, microsecond=0) + dt.timedelta(days=3)
    (shift, *_) = shifts_between(session, ids["L1"], 2, afternoon, afternoon + dt.timedelta(hours=4))
    requester = int(shift.who.removeprefix("u:"))
    asked = next(team[u] for u in ("sofia", "priya", "tom") if team[u] != requester)
    requester_name = next(u for u, uid in team.items() if uid == requester)
    schedules.ask_swap(session, ids["L1"], position=2, asked_id=asked, starts_at=afternoon,
                       ends_at=afternoon + dt.timedelta(hours=4), message="Doctor's appointment that afternoon.",
                       actor=Actor(requester, requester_name, Role.CSM), now=now)
    return ids
