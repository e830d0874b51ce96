"""After the incident: the critical incident report, the blameless post-mortem, their exports and the review schedule.

Owns both documents' lifecycle and the review tasks. Reading never writes: a first draft is
built in memory and stored on the first save by someone who may edit it. It must never import
streamlit.
"""
