"""Client communications: the template catalog and sandbox, the message context, rendering, mail and the log.

Owns every message the team sends or prepares and the client-update cadence. User-edited
templates render only in the sandbox, in an isolated worker process. It must never import
streamlit, and never send anything without logging it in the same unit of work.
"""
