"""Every AppTest run in a process shares one registry of installed components, as a served app's runtime does."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests import apptest_runtime
from tests.pages.conftest import REPO


def test_every_apptest_uses_the_process_registry_and_keeps_it_through_a_run(app_db):
    first = apptest_runtime.from_file(str(REPO / "app.py"), default_timeout=30)
    second = apptest_runtime.from_file(str(REPO / "app.py"), default_timeout=30)
    shared = apptest_runtime.components()
    assert getattr(first, apptest_runtime.REGISTRY_ATTRIBUTE) is shared
    assert getattr(second, apptest_runtime.REGISTRY_ATTRIBUTE) is shared
    first.run()
    assert not first.exception, first.exception
    assert [t.label for t in first.text_input] == ["Username", "Password"]
    assert getattr(first, apptest_runtime.REGISTRY_ATTRIBUTE) is shared


def test_a_plain_apptest_still_keeps_its_registry_where_the_helper_expects():
    # The helper relies on this attribute being empty until the first run (streamlit 1.67); an upgrade
    # that moves it must fail here, not make every page test scan the installed packages again.
    plain = AppTest.from_file(str(REPO / "app.py"))
    assert getattr(plain, apptest_runtime.REGISTRY_ATTRIBUTE, "missing") is None
