"""The HTTP side of the app server beside Streamlit's pages: the background scheduler and plain routes.

`server.py` mounts these into `st.App`. Nothing here renders Streamlit pages or signs anyone in:
the routes answer with their own small pages or JSON, and a page of the app is reached only
through Streamlit and its per-page guard.
"""
