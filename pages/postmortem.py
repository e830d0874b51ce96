"""The blameless post-mortem of a resolved incident: sections, owned action items, review status, exports.

Open it with `?id=<incident number>`. A first draft written from the record
until someone who may edit saves it; action items are tracked until done.
"""

import streamlit as st

from core.report.lifecycle import ReportKind
from ui import report_panels as panel
from ui.page import id_from_link, page_setup

user = page_setup("postmortem", "Post-mortem", ":material/psychology:")
incident_id = id_from_link(
    "Post-mortem",
    "Open a resolved incident and follow its post-mortem link, or add `?id=<number>` to this page's address.",
    ways_in=("incidents",))
view, page = panel.open_document(incident_id, ReportKind.POSTMORTEM, user)
editor = view.editor

panel.header(view, user)
st.caption("Blameless: describe what the systems and processes allowed, not who was at fault.")
panel.reader_notice(view)
panel.earlier_postmortems(view.record.earlier, user)
text, actions, review, export = st.tabs(["Post-mortem", "Action items", "Review status", "Export"])
with text:
    panel.sections_form(view, user, editor)
with actions:
    panel.actions_panel(view, user, editor, page.people)
with review:
    panel.status_panel(view, user, editor)
with export:
    panel.exports_panel(view, [], user)
