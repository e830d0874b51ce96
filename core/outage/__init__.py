"""Platform outages: one parent for the incidents of every account one failure hits.

`linking` attaches an account's incident to an open outage (and detaches it); `flows` opens,
edits and resolves outages and writes one update to every linked client at once; `service` and
`views` read them. Each linked incident keeps its own contract clocks, owner and client messages:
nothing here copies one client's data into another's record. Never imports streamlit, never reads
the clock.
"""
