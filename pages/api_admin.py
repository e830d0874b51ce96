"""Admin › API access: tokens (made here or with `python -m core tokens add`), alert sources, routing keys."""

import streamlit as st

from core.api.views import access_page
from ui.api_admin import routing_panel, show_new_secret, source_edit_panel, sources_panel, tokens_panel
from ui.page import page_setup

user = page_setup("api_admin", "API access", ":material/api:")

st.title("API access")
st.caption("Monitoring tools and helpdesks open and update incidents through the HTTP API (/api/v1, described at "
           "/api/v1/openapi.json). A token acts as its user and never does more than that person could here.")
show_new_secret()
page = access_page()
tokens, sources, routing = st.tabs(["Tokens", "Alert sources", "Routing keys"])
with tokens:
    tokens_panel(page, user)
with sources:
    sources_panel(page, user)
    source_edit_panel(page, user)
with routing:
    routing_panel(page, user)
