"""Every page shows text people typed as text: no image, link, HTML, LaTeX or colour from a stored value.

Every free-text field is seeded with hostile Markdown (tests.pages.hostile_world),
then every page is run for a role that sees the data. Each string of each
element the page sent is checked: wherever Streamlit renders it as Markdown
(titles, captions, alerts, labels, metrics, expander and tab labels, help, st.table cells),
no hostile fragment may appear unescaped. Plain-text places (st.text, st.code,
text inputs, selectbox options, dataframes, the sandboxed HTML preview) may
hold the raw text: they show it literally. Each page must show the fields
listed for it, so the check cannot pass by showing nothing.
"""

from __future__ import annotations

import pytest
from google.protobuf.message import Message
from streamlit.testing.v1 import AppTest

from tests.literal_text import marker, raw_fragments, visible_text
from tests.pages import hostile_world
from tests.pages.conftest import app_test
from ui import navigation

# Proto fields Streamlit shows as plain text (verified in the browser: tests/browser/test_literal_text.py).
PLAIN_FIELDS = {
    "Text.body", "Code.code_text", "TextInput.value", "TextInput.default", "TextArea.value", "TextArea.default",
    "Selectbox.options", "Selectbox.raw_value", "MultiSelect.options", "MultiSelect.raw_values", "IFrame.srcdoc",
    "dataframe.cell",  # st.table cells, unlike these, are Markdown
}

# Page, user, query (by World attribute), fields it must show. csm1 owns the account; csm2 only reads.
PAGES = [
    ("home", "csm1", {}, {"namecsm", "account", "pmaction", "resolvedtitle", "warningtitle"}),
    ("home", "admin1", {}, {"nameadmin", "namecsm", "account", "pmaction", "resolvedtitle", "opentitle"}),
    ("triage", "csm1", {"account": "account_id", "warning": "low-csat"},
     {"account", "warningtitle", "policytitle", "policysource", "sevlabel", "sevdef", "rulereason", "rulesection"}),
    ("incidents", "admin1", {}, {"nameadmin", "account", "opentitle"}),
    ("board", "admin1", {}, {"opentitle", "account", "namecsm"}),
    ("outages", "admin1", {"id": "outage_id"}, {"outagetitle", "outageimpact", "outagesummary", "namecsm"}),
    ("incident", "csm1", {"id": "open_id"},
     {"opentitle", "opensummary", "account", "namecsm", "namelead", "policytitle", "sevlabel", "sevdef",
      "levelname", "levelreason", "actionitem", "note", "sevreason", "pausereason", "escreason", "subject",
      "recipient", "callee", "body", "resolvedtitle"}),
    ("incident", "csm2", {"id": "open_id"}, {"namereader", "opentitle", "namelead", "actionitem", "levelname"}),
    ("incident", "admin1", {"id": "resolved_id"}, {"resolvedtitle", "resolvedsummary", "msreason", "pmaction"}),
    ("compose", "csm1", {"id": "open_id"}, {"opentitle", "account", "cname", "contactemail"}),
    ("report", "admin1", {"id": "resolved_id"},
     {"resolvedtitle", "account", "namecsm", "reviewtitle", "sectiontimeline", "sectionimpact", "sectionrootcause",
      "sectionresolution", "sectionclientmitigation", "sectionprevention", "pmaction"}),
    ("report", "csm2", {"id": "resolved_id"}, {"namereader", "resolvedtitle", "sectiontimeline", "reviewtitle"}),
    ("postmortem", "csm1", {"id": "resolved_id"},
     {"resolvedtitle", "account", "sectionsummary", "sectionwentwell", "sectionimprove", "pmaction", "namecsm"}),
    ("postmortem", "csm2", {"id": "resolved_id"}, {"sectionsummary", "pmaction", "namecsm"}),
    ("dashboard", "admin1", {}, {"nameadmin", "account", "namecsm"}),
    ("accounts", "admin1", {}, {"account", "namecsm"}),
    ("account", "csm1", {"id": "account_id"},
     {"account", "response", "credits", "cname", "crole", "contactemail", "warningtitle", "subject", "namecsm"}),
    ("health", "admin1", {}, {"account", "namecsm", "warningtitle", "warningsection"}),
    ("profile", "csm1", {}, {"namecsm", "emailcsm"}),
    ("policies", "admin1", {}, {"policytitle", "sevlabel", "levelname", "reviewtitle", "warningtitle"}),
    ("admin_users", "admin1", {}, {"nameadmin", "namecsm", "namelead", "namereader"}),
    ("templates_admin", "admin1", {}, {"nameadmin"}),
    ("inbox", "csm1", {}, {"namecsm"}),
    ("notifications_admin", "admin1", {}, {"nameadmin"}),
    ("oncall", "admin1", {}, {"nameadmin", "namecsm", "namelead", "oncalldesc", "coverreason", "extcontact"}),
    ("oncall", "csm1", {}, {"namecsm", "coverreason", "extcontact"}),
    ("api_admin", "admin1", {}, {"nameadmin", "account"}),
]


def _strings(message: Message, path: str):
    for field, value in message.ListFields():
        name = f"{path}.{field.name}"
        values = value if hasattr(value, "__len__") and not isinstance(value, str | bytes | Message) else [value]
        for item in values:
            if isinstance(item, Message):
                yield from _strings(item, name)
            elif isinstance(item, str):
                yield name, item


def page_strings(node) -> list[tuple[str, str]]:
    """Every (proto field, text) the page sent; the cells of st.dataframe (plain) and st.table (Markdown) too."""
    found = []
    proto = getattr(node, "proto", None)
    if isinstance(proto, Message):
        found += _strings(proto, type(proto).__name__)
    if getattr(node, "type", None) in ("dataframe", "table"):
        found += [(f"{node.type}.cell", str(cell)) for cell in node.value.to_numpy().ravel()]
    for child in getattr(node, "children", {}).values():
        found += page_strings(child)
    return found


def _run(script: str, username: str, query: dict[str, str]) -> AppTest:
    return app_test(f"pages/{script}.py", username, timeout=60, query=query).run()


@pytest.fixture
def world(app_db):
    """Hostile text in every free-text field of the app's database."""
    return hostile_world.build(app_db)


def test_every_page_shows_typed_text_literally(world):
    problems, pairs = [], 0
    shown_anywhere: set[str] = set()
    for script, username, query, expected in PAGES:
        where = f"{script} as {username}"
        at = _run(script, username, {k: str(getattr(world, v, v)) for k, v in query.items()})
        if at.exception:
            problems.append(f"{where}: {at.exception[0].value}")
            continue
        shown = set()
        for field, text in page_strings(at._tree):
            plain = field in PLAIN_FIELDS
            for tag in hostile_world.FIELDS:
                if not plain and any(fragment in text for fragment in raw_fragments(tag)):
                    problems.append(f"{where}: {tag} reaches {field} unescaped: {text[:160]!r}")
                if marker(tag) in (text if plain else visible_text(text)):
                    shown.add(tag)
        if expected - shown:
            problems.append(f"{where}: does not show {sorted(expected - shown)}")
        pairs += len(shown)
        shown_anywhere |= shown
    fields, scripts = len(hostile_world.FIELDS), {script for script, *_ in PAGES}
    print(f"literal text: {fields} fields x {len(scripts)} pages checked "
          f"({len(PAGES)} runs, {pairs} field-page pairs shown)")
    assert not problems, "\n".join(problems)
    assert shown_anywhere == set(hostile_world.FIELDS), "every seeded field is shown somewhere"
    assert {f"pages/{script}.py" for script in scripts} == {page.script for page in navigation.PAGES}
    assert fields >= 45
