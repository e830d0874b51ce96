"""Client communications: the template catalog and sandbox, the message context, rendering, mail and the log.

Owns every message the team sends or prepares and the client-update cadence. User-edited
templates render only in the sandbox, in an isolated worker process. It must never import
streamlit, and never send anything without logging it in the same unit of work.

Modules: `sandbox` (the bounded Jinja environment and its limits), `parts` (rendering and
checking one template part in that sandbox: what the worker runs), `worker` (the isolated
render processes), `fields` (the MessageContext model: what a template may use), `context`
(building it from the incident record), `catalog` (which templates exist, their specs,
shipped sources and the template check), `render` (filling a message), `store` (template
versions edited in the app), `flows` (drafts, sending, marking sent, the communication log),
`cadence` (when client updates fall due), `mail` (building an email and checking its
headers), `smtp` (the saved server settings and delivery), `errors` (what the flows raise).
"""
