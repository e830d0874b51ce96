"""Links between the app's own pages that keep the person in the same browser tab.

Streamlit opens a Markdown link to an app address and a table's link column in
a new tab: in an emergency that leaves a trail of tabs, each with its own
session. `st.page_link` and `st.switch_page` move the running session to
another page instead. Every in-app link is made here from the page registry
(`ui.navigation`), so where a page lives is written once. This module must
never write an in-app address by hand, and never make a link meant to leave the
app: a link written into an email or a calendar file is built by
`ui.app_address.external_link()`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import pandas as pd
import streamlit as st

from ui.navigation import spec

Query = Mapping[str, str | int]


def _params(query: Query | None) -> dict[str, str] | None:
    return {name: str(value) for name, value in query.items()} if query else None


def page_link(key: str, label: str, *, query: Query | None = None, icon: str | None = None,
              help: str | None = None) -> None:
    """A same-tab link to the registry's page `key` with `query` as its `?...`; `label` is Markdown (escape typing)."""
    st.page_link(spec(key).script, label=label, icon=icon, help=help, query_params=_params(query))


def incident_link(incident_id: int, label: str | None = None, *, icon: str | None = None) -> None:
    """A same-tab link to incident `incident_id`, labelled `#<id>` unless `label` (Markdown) says otherwise."""
    page_link("incident", label or f"#{incident_id}", query={"id": incident_id}, icon=icon)


def go_to(key: str, **query: str | int) -> NoReturn:
    """Move this tab to the registry's page `key` with `query` as its `?...`; the current run ends here."""
    st.switch_page(spec(key).script, query_params=_params(query))


def opening_table(frame: pd.DataFrame, ids: Sequence[int], *, key: str, target: str = "incident",
                  hint: str = "Tick a row's box to open its incident.",
                  column_config: Mapping[str, Any] | None = None) -> None:
    """A read-only table where ticking a row's box opens the `target` page of that row's id (`ids[i]`) in this tab.

    A click on a cell only selects the cell (Streamlit's table), hence the
    `hint` under the table. Streamlit reports the ticked row by its position in
    `frame` even after the reader sorted the table, so `ids` stays aligned with
    the rows as given.
    """
    event = st.dataframe(frame, hide_index=True, width="stretch", column_config=column_config, key=key,
                         on_select="rerun", selection_mode="single-row")
    st.caption(hint)
    rows = event.selection.rows
    if rows:
        go_to(target, id=ids[rows[0]])
