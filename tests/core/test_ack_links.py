"""Acknowledge links: one notification each, refused when altered or expired."""

from __future__ import annotations

import datetime as dt

import pytest

from core.alerts import links

NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
KEY = b"k" * 32


def test_a_link_names_its_notification_until_it_expires():
    token = links.sign(KEY, 42, now=NOW)
    assert links.verify(KEY, token, now=NOW + links.LIFETIME) == 42
    with pytest.raises(links.LinkError, match="expired"):
        links.verify(KEY, token, now=NOW + links.LIFETIME + dt.timedelta(seconds=1))


@pytest.mark.parametrize("alter", [
    lambda t: t.replace("42.", "43.", 1),                      # another notification
    lambda t: t.split(".")[0] + "." + str(int(t.split(".")[1]) + 3600) + "." + t.split(".")[2],  # longer life
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),          # the signature
    lambda t: t + "x",
    lambda t: "",
    lambda t: "42",
])
def test_an_altered_link_is_refused(alter):
    with pytest.raises(links.LinkError, match="altered"):
        links.verify(KEY, alter(links.sign(KEY, 42, now=NOW)), now=NOW)


def test_another_key_does_not_accept_the_link():
    with pytest.raises(links.LinkError):
        links.verify(b"other" * 8, links.sign(KEY, 42, now=NOW), now=NOW)


def test_the_key_is_made_once_and_shared(engine, monkeypatch):
    from db.engine import session_scope

    monkeypatch.delenv(links.KEY_ENV, raising=False)
    with session_scope(engine) as session:
        first = links.link_key(session)
    with session_scope(engine) as session:
        assert links.link_key(session) == first
    monkeypatch.setenv(links.KEY_ENV, "from-the-environment")
    with session_scope(engine) as session:
        assert links.link_key(session) == b"from-the-environment"


def test_the_url_carries_the_token_under_the_app_address():
    assert links.ack_url("https://desk.example.com/", "1.2.abc") == "https://desk.example.com/ack/1.2.abc"
