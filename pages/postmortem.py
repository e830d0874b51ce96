"""The blameless post-mortem of a resolved incident: sections, owned action items, review status, exports.

Open it with `?id=<incident number>`. A first draft written from the record
until someone who may edit saves it; action items are tracked until done.
"""

from ui.page import page_setup

user = page_setup("postmortem", "Post-mortem", ":material/psychology:")

import streamlit as st  # noqa: E402

from core.incident import service as incident_queries  # noqa: E402
from core.report.lifecycle import ReportKind  # noqa: E402
from db.engine import read_scope  # noqa: E402
from ui import report_panels as panel  # noqa: E402
from ui.page import id_from_link  # noqa: E402

incident_id = id_from_link(
    "Post-mortem", "Open a resolved incident and follow its post-mortem link, or add `?id=<number>` to this page's address.")
view, editor = panel.open_document(incident_id, ReportKind.POSTMORTEM, user)
with read_scope() as session:
    people = incident_queries.owners(session)

panel.header(view, user)
st.caption("Blameless: describe what the systems and processes allowed, not who was at fault.")
panel.reader_notice(view)
panel.earlier_postmortems(view.record.earlier, user)
text, actions, review, export = st.tabs(["Post-mortem", "Action items", "Review status", "Export"])
with text:
    panel.sections_form(view, user, editor)
with actions:
    panel.actions_panel(view, user, editor, people)
with review:
    panel.status_panel(view, user, editor)
with export:
    panel.exports_panel(view, [])
