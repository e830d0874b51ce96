"""After the incident: the critical incident report, the blameless post-mortem, their exports and the review schedule.

Modules, from the plain values up:

- `lifecycle`: which document, its review statuses and the moves between them, who may make each (pure).
- `record`: the incident's record a document is written from, as plain values.
- `sections`: each document's sections and how the first draft is written from the record (pure).
- `service`: reads: the record from the database, earlier post-mortems, overdue action items.
- `flows`: every write (save, move along the review, post-mortem action items) with its permission
  check and audit entry, and the report page's read model.
- `exports`: Markdown, PDF with a timeline chart, and the client recovery summary.
- `pdf_fonts`: the Noto fonts the PDF prints in, and which of them a document's text needs.

Reading never writes: a first draft is built in memory and stored on the first save by someone
who may edit it. It must never import streamlit.
"""
