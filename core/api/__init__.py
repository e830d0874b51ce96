"""The HTTP API's rules: tokens and scopes, alert intake, the read models and the OpenAPI contract.

The routes in `ui.api_routes` parse requests and call these functions; every decision (who may do
what, how an alert opens or joins an incident) is made here, with the same core functions as the
pages. Never imports streamlit or starlette.
"""
