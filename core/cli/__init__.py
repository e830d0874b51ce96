"""The command line, `python -m core ...`: the triage and policy contracts and server administration.

Each command parses its arguments, opens one unit of work when it needs the database and calls
one function of a domain package; every decision is made there. Output shapes are public
contracts documented in the README. It must never import streamlit.
"""

from __future__ import annotations

import argparse
from typing import TypeAlias

# What `register(subparsers)` receives: the `python -m core` parser's sub-command table.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
