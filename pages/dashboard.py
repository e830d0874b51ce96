"""SLA dashboard: attainment, response times, breaches, repeats, emergency work, objectives and a policy backtest."""

import datetime as dt

import streamlit as st

from core.people.access import Role
from core.sla import metrics
from core.sla import queries as sla_summary
from core.sla.views import dashboard_choices
from core.vocabulary import SEVERITIES, TIERS
from ui import dashboard_charts as charts
from ui import dashboard_data
from ui.auth import utcnow
from ui.dashboard_backtest import backtest_section
from ui.dashboard_text import breakdown_options, definitions
from ui.page import page_setup

user = page_setup("dashboard", "SLA dashboard", ":material/monitoring:")

st.title("SLA dashboard")
now = utcnow().replace(second=0, microsecond=0)
is_csm = user.role is Role.CSM
choices = dashboard_choices(viewer_id=user.id, role=user.role)
accounts, people, policies = choices.accounts, choices.people, choices.policies
if is_csm:
    st.caption("You see the accounts you own. Leads and admins see the whole team.")

with st.container(border=True):
    c1, c2, c3, c4 = st.columns(4)
    today = now.date()
    dates = c1.date_input("Detected between", value=(today - dt.timedelta(weeks=12), today), key="d_dates")
    severities = c2.multiselect("Severity", list(SEVERITIES), key="d_severity")
    tiers = c3.multiselect("Tier", list(TIERS), key="d_tier")
    chosen_policies = c4.multiselect("Policy", list(policies), key="d_policy")
    c5, c6, c7, c8 = st.columns(4)
    account = c5.selectbox("Customer", [None, *accounts], key="d_account",
                           format_func=lambda a: "all" if a is None else a.label)
    csm = None if is_csm else c6.selectbox("CSM", [None, *people], key="d_csm",
                                           format_func=lambda uid: "all" if uid is None else people[uid])
    group = c7.selectbox("Break attainment down by", list(breakdown_options(is_csm)), key="d_group",
                         format_func=breakdown_options(is_csm).get)
    team = c8.number_input("People sharing the emergency buffer", min_value=1, value=max(1, len(people)),
                           key="d_people", help="Capacity = people x planned hours per week.")

if len(dates) != 2:
    st.info("Pick the last day of the range too: the dashboard covers whole weeks from the first to the last date.")
    st.stop()
flt = sla_summary.restrict(
    sla_summary.DashboardFilter.for_dates(dates[0], dates[1], severities=tuple(severities), tiers=tuple(tiers),
                                          policies=tuple(chosen_policies), account_id=account.id if account else None,
                                          csm_ids=(csm,) if csm else ()),
    role=user.role, user_id=user.id)
names = {a.id: a.name for a in accounts} if group == "account_id" else people
data = dashboard_data.load(flt, now, dashboard_data.data_version(), group, int(team), metrics.DEFAULT_HOURS_PER_WEEK,
                           policies, names, user.time_zone)
st.caption(f"Weeks of {flt.week_from:%d %b %Y} to {flt.week_to:%d %b %Y} (Monday to Sunday, UTC) · "
           f"{data.incidents:,} incidents detected · other times in {user.time_zone}")
with st.expander("How these figures are defined"):
    st.markdown(definitions(user.time_zone))

k1, k2, k3, k4 = st.columns(4)
k1.metric("Incidents", f"{data.incidents:,}")
k2.metric("Attainment", "—" if data.overall.pct is None else f"{data.overall.pct:.1f} %",
          help="Met / (met + breached) over every clock in the range.")
k3.metric("Breached clocks", f"{data.overall.breached:,}")
k4.metric("Repeat incidents", "—" if not data.incidents else f"{100 * data.repeats / data.incidents:.1f} %")
emergencies = dashboard_data.open_emergencies(flt)
e1, e2, e3 = st.columns(3)
e1.metric("Open emergencies now", f"{emergencies.emergencies:,}",
          help=f"{emergencies.incidents:,} open incidents; all incidents of one platform outage count once. "
               "Attainment still counts each account's own clocks.")
e2.metric("Platform outages open", f"{emergencies.outages:,}")
e3.metric("Accounts affected by them", f"{emergencies.accounts_affected:,}")

attain, times, breaches, workload, goals, replay = st.tabs(
    ["Attainment", "Response times", "Breaches", "Accounts and workload", "Objectives", "Policy backtest"])
with attain:
    if data.attainment.empty:
        st.info("No SLA clock in this range and filter.")
    else:
        charts.show(charts.attainment_chart(data.attainment, data.targets), "attainment_chart")
        charts.table(data.attainment, "attainment")
        st.subheader(f"By {breakdown_options(is_csm)[group].lower()}")
        charts.table(data.breakdown, f"attainment_by_{group}")
with times:
    charts.acknowledge_metrics(data.acknowledge)
    if data.trend.empty:
        st.info("No stopped clock in this range yet.")
    else:
        charts.show(charts.trend_chart(data.trend), "response_times")
        charts.table(data.trend, "response_times")
with breaches:
    if not data.heat.empty:
        charts.show(charts.heat_chart(data.heat, user.time_zone), "breach_heatmap")
    st.subheader("Most recent breaches")
    if data.breaches.empty:
        st.info("No breached clock in this range.")
    else:
        charts.table(data.breaches, "breaches", link=True)
with workload:
    if not data.accounts.empty:
        charts.show(charts.accounts_chart(data.accounts), "incidents_per_account")
        charts.table(data.accounts, "incidents_per_account")
    if not data.emergency.empty:
        charts.show(charts.emergency_chart(data.emergency, data.emergency_limit), "emergency_work")
        charts.table(data.emergency, "emergency_work")
with goals:
    if data.objectives.empty:
        st.info("The policies in this filter have no objective this dashboard can measure.")
    else:
        percent = data.objectives[data.objectives["Target"].str.contains("%")]
        if not percent.dropna(subset=["Actual"]).empty:
            charts.show(charts.objectives_chart(percent.dropna(subset=["Actual"])), "objectives")
        charts.table(data.objectives, "objectives")
with replay:
    backtest_section(user, policies, now)
