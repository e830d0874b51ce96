"""AppTest runs that share one registry of installed Streamlit components, as a served app's runtime does.

A served app scans every installed distribution for component manifests once, when its runtime starts.
AppTest (streamlit 1.67) makes a new registry for each AppTest it runs, and the scan reads the
metadata of all ~370 installed distributions: about 0.17 s per run on this machine, against 0.003 s
for a page that writes one line. Every page test and every benchmark run paid it, so the bench's
figures were the page plus a constant no user ever waits for. `from_file` gives an AppTest that uses
one registry per process, made once, without file watching (the installed set does not change during
a test run). The registry is filled by streamlit's own discovery; nothing is stubbed.
"""

from __future__ import annotations

import functools
from typing import Any

from streamlit.components.v2.component_manager import BidiComponentManager
from streamlit.testing.v1 import AppTest

# The attribute AppTest keeps its registry in (streamlit 1.67): it makes one only while this is None.
REGISTRY_ATTRIBUTE = "_bidi_component_manager"


@functools.cache
def components() -> BidiComponentManager:
    """The process's one registry of installed components, discovered on first use."""
    manager = BidiComponentManager()
    manager.discover_and_register_components(start_file_watching=False)
    return manager


def from_file(script: str, **kwargs: Any) -> AppTest:
    """`AppTest.from_file(script, **kwargs)`, using the process's registry instead of scanning for its own.

    Fails loudly if AppTest no longer keeps its registry where this expects (a streamlit upgrade), rather
    than silently scanning again on every run.
    """
    at = AppTest.from_file(script, **kwargs)
    if getattr(at, REGISTRY_ATTRIBUTE, "missing") is not None:
        raise RuntimeError(f"AppTest has no empty {REGISTRY_ATTRIBUTE} any more: update tests/apptest_runtime.py "
                           "for this streamlit version")
    setattr(at, REGISTRY_ATTRIBUTE, components())
    return at
