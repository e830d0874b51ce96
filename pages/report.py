"""The critical incident report of a resolved incident: sections, review status, reviews, exports.

Open it with `?id=<incident number>`. Until someone who may edit saves it, the
report is a first draft written from the record (shown to its editors only);
the review schedule and the client recovery summary live here too.
"""

import streamlit as st

from core.report.lifecycle import ReportKind
from ui import report_panels as panel
from ui.page import id_from_link, page_setup

user = page_setup("report", "Incident report", ":material/description:")
incident_id = id_from_link(
    "Incident report",
    "Open a resolved incident and follow its report link, or add `?id=<number>` to this page's address.",
    ways_in=("incidents",))
view, page = panel.open_document(incident_id, ReportKind.REPORT, user)
editor = view.editor

panel.header(view, user)
panel.reader_notice(view)
panel.earlier_postmortems(view.record.earlier, user)
text, review, schedule, export = st.tabs(["Report", "Review status", "Review schedule", "Export"])
with text:
    panel.sections_form(view, user, editor)
with review:
    panel.status_panel(view, user, editor)
with schedule:
    panel.reviews_panel(view, page.tasks, user, editor)
with export:
    panel.exports_panel(view, page.tasks, user)
