"""Moving around the app in a real browser stays in one tab.

Streamlit gives Markdown links and LinkColumn cells target="_blank"; the app
now links its own pages with st.page_link and opens table rows with
st.switch_page (ui.links). On a small workspace (an open incident with a client
update due, a resolved one with an overdue post-mortem action, an earlier one
with a post-mortem), this walks home, a row to its incident, the go-to box,
the report, the post-mortem, back, the board and a card, and checks at every
stop that no link into the app opens a new tab and that the browser never
opened a second page.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from playwright.sync_api import Page, expect

from core.people.access import Role
from core.people.users import Actor
from core.policy import store as policy_store
from core.report import flows as reports
from db.engine import session_scope
from db.models import Account
from tests.browser.conftest import open_app, running_server, sign_in, wait_idle
from tests.conftest import NOW, TEST_PASSWORD
from tests.pages.conftest import open_test_incident
from tests.pages.test_report_pages import _save_draft, resolved_incident

# Pages that need ?id= are registered hidden: reachable by link, not offered in the sidebar.
SIDEBAR = ["Home", "Triage", "Incidents", "Emergency board", "Platform outages", "Write to the client", "On-call",
           "SLA dashboard", "Accounts", "Account health", "Inbox", "My profile"]


def _prepare(ids: dict[str, int]):
    def prepare(engine, people):
        with session_scope(engine) as s:
            policy_store.install_presets(s, now=NOW)
            s.add(Account(name="Acme Corp", tier="enterprise", annual_contract_value=Decimal(120000),
                          owner_id=people["carl"], time_zone="Europe/Paris"))
        ids["earlier"] = resolved_incident(engine, title="Earlier outage")
        _save_draft(engine, ids["earlier"], "lena", Role.LEAD, "postmortem")
        ids["resolved"] = resolved_incident(engine, title="Outage again")
        now = dt.datetime.now(dt.UTC)
        with session_scope(engine) as s:
            reports.add_postmortem_action(s, incident_id=ids["resolved"], title="Rotate the gateway certificate",
                                          owner_id=people["carl"], due_at=now - dt.timedelta(hours=2),
                                          actor=Actor(people["lena"], "lena", Role.LEAD), now=now)
        # red-status, detected 45 min ago: the first client notice is overdue, so home lists an update due.
        ids["open"] = open_test_incident(engine, "Acme Corp", {"business_impact": "major"}, policy="red-status",
                                         title="Checkout down", minutes_ago=45)
    return prepare


def new_tab_links_into_the_app(page: Page, origin: str) -> list[str]:
    """Links on the page that open a new tab on the app's own host."""
    return page.evaluate(
        """(origin) => [...document.querySelectorAll('a[target="_blank"]')]
               .filter(a => new URL(a.href, location.href).origin === origin).map(a => a.outerHTML)""", origin)


def link_to(page: Page, path: str):
    """The page link (st.page_link) whose address ends with `path`, e.g. "incident?id=3"."""
    return page.locator(f"[data-testid='stPageLink-NavLink'][href$='{path}']").first


def assert_same_tab(page: Page, origin: str, where: str) -> None:
    wait_idle(page)
    assert new_tab_links_into_the_app(page, origin) == [], f"{where}: links into the app open a new tab"
    assert len(page.context.pages) == 1, f"{where}: a second tab was opened"


def sidebar_pages(page: Page) -> list[str]:
    """The page names the sidebar's navigation offers (without their icons)."""
    return page.evaluate("""() => [...document.querySelectorAll("[data-testid='stSidebarNav'] a")].map(a => {
        const copy = a.cloneNode(true);
        copy.querySelectorAll("[data-testid='stIconMaterial']").forEach(icon => icon.remove());
        return copy.innerText.trim(); })""")


def tick_first_row(page: Page, table_key: str) -> None:
    """Tick the first row's box of the table keyed `table_key` (its row-marker column, drawn on a canvas)."""
    grid = page.locator(f".st-key-{table_key} [data-testid='stDataFrame']").first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    # Streamlit's grid: a 35 px header, then 35 px rows; the row marker is the first ~30 px.
    page.mouse.click(box["x"] + 15, box["y"] + 35 + 17)


def test_links_into_the_app_stay_in_one_tab(browser, tmp_path):
    ids: dict[str, int] = {}
    with running_server(tmp_path, {"carl": "csm", "lena": "lead"}, prepare=_prepare(ids)) as server:
        context = browser.new_context(viewport={"width": 1400, "height": 1200})
        page = context.new_page()
        origin = server.url
        open_app(page, origin)
        expect(page.get_by_role("button", name="Sign in").first).to_be_visible(timeout=20000)
        sign_in(page, "carl", TEST_PASSWORD)
        expect(page.get_by_text("Hello, Carl").first).to_be_visible(timeout=20000)

        # Home: the sidebar offers no id-only page; the overdue action links its post-mortem in place.
        assert_same_tab(page, origin, "home")
        nav = page.locator("[data-testid='stSidebarNav'] a")
        assert sidebar_pages(page) == SIDEBAR
        expect(link_to(page, f"postmortem?id={ids['resolved']}")).to_be_visible()

        # A home row opens its incident in this tab.
        tick_first_row(page, "home_incidents")
        page.wait_for_url(f"**/incident?id={ids['open']}", timeout=20000)
        expect(page.get_by_text("Checkout down").first).to_be_visible(timeout=20000)
        # Strict on the whole incident page. Its links on this branch are the ones ui.compose_view and
        # ui.report_panels.after_incident draw; the incident page's rewrite (ui/incident_panels.py) must keep
        # this true, and tests/pages/test_navigation.py fails on any new-tab link it adds.
        assert_same_tab(page, origin, "incident")
        assert link_to(page, f"compose?id={ids['open']}").count() == 1, "Write to the client"
        assert link_to(page, f"postmortem?id={ids['earlier']}").count() == 1, "earlier post-mortem"

        # The sidebar's go-to box opens another incident in this tab.
        box = page.get_by_role("spinbutton", name="Go to incident #")
        box.fill(str(ids["resolved"]))
        box.press("Enter")
        page.wait_for_url(f"**/incident?id={ids['resolved']}", timeout=20000)
        assert_same_tab(page, origin, "resolved incident")

        # Its report, the post-mortem from the report's header, and back to the incident: all in place.
        link_to(page, f"report?id={ids['resolved']}").click()
        page.wait_for_url(f"**/report?id={ids['resolved']}", timeout=20000)
        expect(page.get_by_text("Back to the incident").first).to_be_visible(timeout=20000)
        assert_same_tab(page, origin, "report")
        link_to(page, f"postmortem?id={ids['resolved']}").click()
        page.wait_for_url(f"**/postmortem?id={ids['resolved']}", timeout=20000)
        expect(page.get_by_text("Back to the incident").first).to_be_visible(timeout=20000)
        assert_same_tab(page, origin, "post-mortem")
        link_to(page, f"incident?id={ids['resolved']}").click()
        page.wait_for_url(f"**/incident?id={ids['resolved']}", timeout=20000)

        # The board, from the sidebar; a card's number opens its incident.
        nav.filter(has_text="Emergency board").click()
        page.wait_for_url("**/board", timeout=20000)
        expect(page.get_by_role("heading", name="Emergency board")).to_be_visible(timeout=20000)
        assert_same_tab(page, origin, "board")
        link_to(page, f"incident?id={ids['open']}").click()
        page.wait_for_url(f"**/incident?id={ids['open']}", timeout=20000)

        # Home again: the row ticked earlier does not send the reader back to the incident.
        nav.filter(has_text="Home").click()
        expect(page.get_by_text("Hello, Carl").first).to_be_visible(timeout=20000)
        wait_idle(page)
        page.wait_for_timeout(1500)
        assert "/incident" not in page.url
        assert_same_tab(page, origin, "home again")
        context.close()
