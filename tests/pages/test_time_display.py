"""One zone per person on every page (AppTest): the profile's choice, the sidebar, and the pages that show times.

A person sees their own zone (the one they set, else their browser's) or UTC
when they chose it; text for the client always uses the client's zone.
"""

from __future__ import annotations

import pytest

from core.people import users
from core.people.access import Role
from core.report.sections import when
from db.engine import session_scope
from db.models import Incident
from tests.pages.conftest import app_test, open_test_incident, texts
from tests.pages.test_report_pages import _save_draft, resolved_incident


def person(app_db, username: str) -> tuple[str, bool, str]:
    with session_scope(app_db) as s:
        user = users.get_by_username(s, username)
        return user.time_zone, user.time_zone_chosen, user.show_times_in


def set_choice(app_db, username: str, *, zone: str | None, shows: str) -> None:
    """Store `username`'s zone (None: follow the browser) and their choice, as the profile page would."""
    with session_scope(app_db) as s:
        user = users.get_by_username(s, username)
        users.update_profile(s, user_id=user.id, display_name=user.display_name, email=user.email,
                             time_zone=zone, show_times_in=shows, now=users.dt.datetime.now(users.dt.UTC))


def sidebar_line(at) -> str:
    return next(c.value for c in at.sidebar.caption if c.value.startswith("Times shown in"))


@pytest.mark.parametrize("zone, shows, browser, expected", [
    (None, "mine", "America/New_York", "Times shown in America/New_York (your browser)"),
    (None, "mine", "Not/AZone", "Times shown in UTC (not set yet)"),
    (None, "mine", None, "Times shown in UTC (not set yet)"),
    ("Europe/Paris", "mine", "America/New_York", "Times shown in Europe/Paris (your profile)"),
    ("Europe/Paris", "utc", "America/New_York", "Times shown in UTC (your choice)"),
])
def test_the_sidebar_says_which_zone_and_why(people, app_db, zone, shows, browser, expected):
    set_choice(app_db, "csm1", zone=zone, shows=shows)
    at = app_test("pages/profile.py", "csm1")
    at.context = {"timezone": browser}
    at.run()
    assert not at.exception, at.exception
    assert sidebar_line(at) == expected


def test_profile_saves_the_zone_and_the_choice_of_utc(people, app_db):
    at = app_test("pages/profile.py", "csm1")
    at.context = {"timezone": "America/New_York"}
    at.run()
    assert at.selectbox(key="profile_zone").value == "", "no zone set yet: it follows the browser"
    assert "Automatic: this browser's zone (America/New_York)" in at.selectbox(key="profile_zone").options
    assert at.radio(key="profile_show_times_in").options == ["My time zone (America/New_York)", "UTC"]
    at.selectbox(key="profile_zone").select("Europe/Paris")
    at.radio(key="profile_show_times_in").set_value("utc")
    at.button[0].click().run()
    assert "Details saved" in texts(at)
    assert person(app_db, "csm1") == ("Europe/Paris", True, "utc")
    assert sidebar_line(at) == "Times shown in UTC (your choice)"
    # Back to the browser's zone, shown in it.
    at.selectbox(key="profile_zone").select("")
    at.radio(key="profile_show_times_in").set_value("mine")
    at.button[0].click().run()
    assert person(app_db, "csm1") == ("Europe/Paris", False, "mine")
    assert sidebar_line(at) == "Times shown in America/New_York (your browser)"


def test_profile_refusal_keeps_what_was_typed_and_stores_nothing(people, app_db):
    at = app_test("pages/profile.py", "csm1").run()
    at.text_input(key="profile_email").input("not-an-email")
    at.selectbox(key="profile_zone").select("Asia/Tokyo")
    at.radio(key="profile_show_times_in").set_value("utc")
    at.button[0].click().run()
    assert "is not an address" in texts(at)
    assert at.text_input(key="profile_email").value == "not-an-email"
    assert at.selectbox(key="profile_zone").value == "Asia/Tokyo"
    assert at.radio(key="profile_show_times_in").value == "utc"
    assert person(app_db, "csm1") == ("UTC", False, "mine")


# --------------------------------------------------------------------------
# Pages that show times.


def detected_at(app_db, incident_id: int):
    with session_scope(app_db) as s:
        return s.get(Incident, incident_id).detected_at


def timeline(at, incident_id: int, kind: str = "report") -> str:
    section = "timeline" if kind == "report" else "summary"
    return at.text_area(key=f"rep_{kind}_{incident_id}_{section}_0").value


@pytest.mark.parametrize("script, kind", [("pages/report.py", "report"), ("pages/postmortem.py", "postmortem")])
def test_a_reader_in_paris_gets_the_report_body_in_paris_time(workspace, app_db, script, kind):
    set_choice(app_db, "csm1", zone="Europe/Paris", shows="mine")
    iid = resolved_incident(app_db)
    at = app_test(script, "csm1", timeout=30, query={"id": str(iid)})
    at.context = {"timezone": "America/New_York"}  # a zone set on the profile wins over the browser's
    at.run()
    assert not at.exception, at.exception
    body = timeline(at, iid, kind)
    paris = when(detected_at(app_db, iid), "Europe/Paris")
    assert body.startswith("Times are in Europe/Paris.") and paris in body
    assert paris.endswith((" CET", " CEST"))
    assert "Times in this first draft are in Europe/Paris." in texts(at)


def test_a_reader_who_chose_utc_gets_utc_on_the_report_whatever_the_browser_says(workspace, app_db):
    set_choice(app_db, "csm1", zone=None, shows="utc")
    iid = resolved_incident(app_db)
    at = app_test("pages/report.py", "csm1", timeout=30, query={"id": str(iid)})
    at.context = {"timezone": "Europe/Paris"}
    at.run()
    assert not at.exception, at.exception
    body = timeline(at, iid)
    assert body.startswith("Times are in UTC.") and when(detected_at(app_db, iid), "UTC") in body
    assert " CET" not in body and " CEST" not in body
    # Saved (as the page's Save button does, in the saver's zone): the header and exports follow the reader.
    _save_draft(app_db, iid, "csm1", Role.CSM)
    at.run()
    shown = texts(at)
    assert "the rest of this page shows times in UTC" in shown
    assert "Status set by Csm1 " in shown and " UTC · last edit by Csm1 " in shown
    assert "The Markdown and PDF show times in UTC." in shown
    # Text for the client stays in the client's zone (Acme: Europe/Paris), and says so.
    summary = next(c.value for c in at.code if c.value.startswith("Subject: Resolved"))
    assert "All times in this message are Europe/Paris time." in summary
    assert "times in the client's zone, Europe/Paris" in texts(at)


def test_a_reader_who_chose_utc_gets_utc_on_the_incident_page(workspace, app_db):
    set_choice(app_db, "csm1", zone="Asia/Tokyo", shows="utc")
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "stopped", "complete_outage": True})
    at = app_test("pages/incident.py", "csm1", timeout=30, query={"id": str(iid)})
    at.context = {"timezone": "Europe/Paris"}
    at.run()
    assert not at.exception, at.exception
    shown = texts(at) + "\n" + "\n".join(str(f.value.to_dict()) for f in at.dataframe)
    assert " UTC" in shown
    assert not [zone for zone in (" JST", " CET", " CEST") if zone in shown]


def test_compose_keeps_the_clients_zone_for_a_reader_who_chose_utc(workspace, app_db):
    from sqlalchemy import select

    from db.models import Account, Contact

    set_choice(app_db, "csm1", zone=None, shows="utc")
    with session_scope(app_db) as s:
        account = s.scalar(select(Account).where(Account.name == "Acme Corp"))
        s.add(Contact(account_id=account.id, name="Ana Martin", email="ana@acme.example", time_zone="Europe/Paris",
                      is_primary=True))
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"}, policy="red-status", minutes_ago=10)
    at = app_test("pages/compose.py", "csm1", timeout=30, query={"id": str(iid)})
    at.context = {"timezone": "America/New_York"}
    at.run()
    assert not at.exception, at.exception
    assert ("Times in this message are in the client's zone, Europe/Paris. Other times on this page are in UTC."
            in texts(at))
    detected = next(w for w in at.text_input if w.key == f"draft_{iid}_detected_at").value
    assert detected.endswith((" CET", " CEST")), "the message's times are the client's"
    assert " UTC" in next(m.value for m in at.markdown if "next client update due" in m.value)


def heat_chart(at) -> tuple[dict, list[dict]]:
    """The heat map's spec and its rows (Streamlit sends a chart's data apart from its spec, as Arrow)."""
    import json

    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    chart = next(c for c in at.get("vega_lite_chart") if "Breaches by weekday and hour" in c.proto.spec)
    rows = convert_arrow_bytes_to_pandas_df(chart.proto.datasets[0].data.data).to_dict("records")
    return json.loads(chart.proto.spec), rows


@pytest.mark.parametrize("zone, shows, axis", [
    ("Asia/Tokyo", "utc", "UTC"),
    ("Europe/Paris", "mine", "Europe/Paris"),
    ("Asia/Kolkata", "mine", "Asia/Kolkata"),
])
def test_the_dashboard_heat_map_is_in_the_readers_zone(workspace, app_db, zone, shows, axis):
    from zoneinfo import ZoneInfo

    set_choice(app_db, "lead1", zone=zone, shows=shows)
    outage = {"business_impact": "stopped", "complete_outage": True, "outage_minutes": 90}
    ids = [open_test_incident(app_db, "Acme Corp", outage, title=f"Outage {n}", policy="red-status",
                              minutes_ago=minutes) for n, minutes in enumerate((180, 200, 1000))]
    at = app_test("pages/dashboard.py", "lead1", timeout=60)
    at.context = {"timezone": "America/New_York"}
    at.run()
    assert not at.exception, at.exception
    spec, rows = heat_chart(at)
    assert spec["encoding"]["x"]["title"] == f"Hour of detection ({axis})"
    local = [detected_at(app_db, iid).astimezone(ZoneInfo(axis)) for iid in ids]
    weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert {(r["Weekday"], r["Hour"]) for r in rows} == {(weekdays[t.weekday()], t.hour) for t in local}
    assert f"weekday and hour of detection in your zone ({axis})" in " ".join(texts(at).split())


def test_health_readings_are_entered_and_charted_in_the_readers_zone(workspace, app_db):
    import datetime as dt
    import json

    from sqlalchemy import select

    from db.models import Account, HealthSignal

    set_choice(app_db, "csm1", zone="Asia/Tokyo", shows="mine")
    with session_scope(app_db) as s:
        acme = s.scalar(select(Account.id).where(Account.name == "Acme Corp"))
    at = app_test("pages/account.py", "csm1", timeout=30, query={"id": str(acme)}).run()
    prefix = f"reading_{acme}_"
    day = at.date_input(key=f"{prefix}day")
    assert day.label == "Observed on (Asia/Tokyo)"
    yesterday = day.value - dt.timedelta(days=1)
    at.selectbox(key=f"{prefix}metric").select("csat")
    at.number_input(key=f"{prefix}value").set_value(6.5)
    day.set_value(yesterday)
    at.button[[b.label for b in at.button].index("Record reading")].click().run()
    assert "reading recorded" in texts(at)
    with session_scope(app_db) as s:
        observed = s.scalar(select(HealthSignal.observed_at).where(HealthSignal.account_id == acme))
    assert observed == dt.datetime.combine(yesterday, dt.time(3), dt.UTC), "noon in Tokyo is 03:00 UTC"
    chart = next(c for c in at.get("vega_lite_chart") if "observed (Asia/Tokyo)" in c.proto.spec)
    assert "observed (UTC)" not in json.dumps(json.loads(chart.proto.spec))
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    rows = convert_arrow_bytes_to_pandas_df(chart.proto.datasets[0].data.data)
    # Tokyo's wall clock without an offset: the browser draws it as written, whatever its own zone.
    assert dt.datetime.combine(yesterday, dt.time(12)) in list(rows["observed_at"].dt.to_pydatetime())
