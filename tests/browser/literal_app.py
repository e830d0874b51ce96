"""A test page: each hostile text of the corpus through every element Streamlit renders as Markdown (escaped
with core.text.markdown_literal) and through the plain-text elements (raw). Run by test_literal_text.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pandas as pd
import streamlit as st

from core.text import markdown_literal
from tests.literal_text import CORPUS

st.set_page_config(layout="wide")
for i, text in enumerate(CORPUS):
    shown = markdown_literal(text)
    # Markdown elements, escaped.
    for kind in ("markdown", "caption", "title", "header", "subheader", "info", "warning", "error", "success"):
        with st.container(key=f"md_{i}_{kind}"):
            getattr(st, kind)(shown)
    with st.container(key=f"md_{i}_expander"):
        st.expander(shown).write("inside")
    with st.container(key=f"md_{i}_tab"):
        st.tabs([shown, "other"])
    with st.container(key=f"md_{i}_checkbox"):
        st.checkbox(shown, key=f"cb{i}")
    with st.container(key=f"md_{i}_toggle"):
        st.toggle(shown, key=f"tg{i}")
    with st.container(key=f"md_{i}_radio"):
        st.radio("radio", [shown], key=f"rd{i}")
    with st.container(key=f"md_{i}_button"):
        st.button(shown, key=f"bt{i}")
    with st.container(key=f"md_{i}_input"):
        st.text_input(shown, key=f"ti{i}")
    with st.container(key=f"md_{i}_metric"):
        st.metric(shown, shown, shown)
    with st.container(key=f"md_{i}_table"):  # st.table renders its cells as Markdown in 1.67
        st.table(pd.DataFrame({"value": [shown]}))
    # Plain-text elements, raw.
    with st.container(key=f"plain_{i}_text"):
        st.text(text)
    with st.container(key=f"plain_{i}_selectbox"):
        st.selectbox("select", [text], key=f"sb{i}")
    with st.container(key=f"plain_{i}_multiselect"):
        st.multiselect("multi", [text], default=[text], key=f"ms{i}")
    with st.container(key=f"plain_{i}_dataframe"):
        st.dataframe(pd.DataFrame({"value": [text]}))
