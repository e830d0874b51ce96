"""Started on a database nobody migrated: the app migrates it; where it cannot, every page says what to run."""

import pytest

from db.engine import make_engine
from db.migrate import code_heads, current_revisions
from tests import apptest_runtime
from tests.pages.conftest import REPO, texts
from ui.navigation import PAGES

SCRIPTS = ["app.py"] + [p.script for p in PAGES]


@pytest.mark.parametrize("script", ["app.py", "pages/triage.py"])
def test_an_empty_database_is_migrated_and_the_sign_in_form_shown(monkeypatch, tmp_path, script):
    url = f"sqlite:///{tmp_path / 'never-initialised.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    at = apptest_runtime.from_file(str(REPO / script), default_timeout=30).run()
    assert not at.exception, at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert "No account exists yet" in texts(at) and "python -m core init" in texts(at)
    engine = make_engine(url)
    assert current_revisions(engine) == code_heads()
    engine.dispose()


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_database_that_cannot_be_migrated_shows_what_to_run_on_every_page(monkeypatch, tmp_path, script):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'missing-folder' / 'app.db'}")
    at = apptest_runtime.from_file(str(REPO / script), default_timeout=30).run()
    assert not at.exception, at.exception
    [error] = at.error
    assert "could not be brought up to date" in error.value
    assert "`.venv/bin/python -m core init`" in error.value and "DATABASE_URL" in error.value
    assert not at.text_input, "no sign-in form over a database that is not there"
