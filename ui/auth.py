"""Sign-in for every page: streamlit-authenticator for the session and cookie, our DB for the rules.

The library keeps `authentication_status`/`username` in `st.session_state`
and writes the re-authentication cookie. Passwords, throttling, disabled
users and revoked cookies are decided by `core.people.users` against the database,
so they hold across sessions and processes; this module only supplies the
client's address (the connection's, or a configured proxy header's) and the
browser's device cookie, which survives sign-out so that others' failed
guesses never lock a person out of the browser they use. This module must
never keep a database Session or ORM object in `st.session_state`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.utilities import LoginError

from core.people import lockout, users
from core.people.access import Role
from core.people.time_display import DisplayZone, display_zone
from db.engine import data_dir, read_scope, session_scope

COOKIE_NAME = "escalation_desk_session"
COOKIE_EXPIRY_DAYS = 7.0
# One device cookie per username, so two people sharing a browser both keep theirs.
DEVICE_COOKIE_PREFIX = "escalation_desk_device_"
TRUSTED_IP_HEADER_ENV = "ESCALATION_DESK_TRUSTED_IP_HEADER"
_ISSUED_AT = "_ed_session_issued_at"
_TOKEN_EXP = "_ed_session_token_exp"
_NOTICE = "_ed_signin_notice"
_AUTHENTICATOR = "_ed_authenticator"
# Device tokens issued to this browser session: st.context.cookies only holds the
# cookies of the page load, so one set after it is read back from here.
_DEVICE_TOKENS = "_ed_device_tokens"


@dataclass(frozen=True)
class CurrentUser:
    """The signed-in person, as pages need it (plain values, no ORM object)."""

    id: int
    username: str
    name: str
    email: str
    role: Role
    # The zone every time is shown in (UTC when they chose UTC): pages format with it through
    # ui.format.local_time, and core is given it for the text it writes for this person.
    time_zone: str
    must_change_password: bool
    # How `time_zone` was decided (core.people.time_display), for the sidebar and the profile.
    zone: DisplayZone
    time_zone_chosen: bool

    @property
    def actor(self) -> users.Actor:
        """This person as the author of a change, with their team role (core decides what it allows)."""
        return users.Actor(self.id, self.username, self.role)


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def _setting(secret: str, env: str) -> str | None:
    try:
        value = st.secrets.get(secret)
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        value = None
    value = value or os.environ.get(env)
    return str(value) if value else None


def cookie_key() -> str:
    """The cookie signing key: st.secrets, then the environment, then a 0600 file made at first run."""
    return _setting("cookie_key", "ESCALATION_DESK_COOKIE_KEY") or _key_file(data_dir() / "cookie_key")


def trusted_ip_header() -> str | None:
    """The proxy header that carries the client's address (`trusted_ip_header` secret or env), if set."""
    return _setting("trusted_ip_header", TRUSTED_IP_HEADER_ENV)


def client_address() -> str:
    """The address sign-in failures are counted against for this browser."""
    header = trusted_ip_header()
    # Honoured only when configured: without a proxy that sets it, anyone could send it.
    # A repeated header counts as one list, so its right-most entry is still the proxy's.
    forwarded = ",".join(st.context.headers.get_all(header)) if header else None
    return lockout.client_address(st.context.ip_address, forwarded)


def _device_cookie(username: str) -> str:
    return DEVICE_COOKIE_PREFIX + username


def _device_token(username: str) -> str | None:
    issued = st.session_state.get(_DEVICE_TOKENS, {}).get(username)
    return issued or st.context.cookies.get(_device_cookie(username))


def _keep_device_token(auth: stauth.Authenticate, username: str, token: str) -> None:
    st.session_state.setdefault(_DEVICE_TOKENS, {})[username] = token
    auth.cookie_controller.cookie_model.cookie_manager.set(
        _device_cookie(username), token, key="set_device_cookie",
        expires_at=dt.datetime.now() + lockout.DEVICE_TRUST,
    )


def _key_file(path: Path) -> str:
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    os.chmod(path, 0o600)
    return path.read_text().strip()


def _credentials() -> dict:
    # Only active users: a disabled user's cookie no longer signs anyone in.
    with read_scope() as session:
        people = users.list_users(session, include_disabled=False)
        return {
            "usernames": {
                u.username: {
                    "name": u.display_name,
                    "email": u.email,
                    "password": u.password_hash,
                    "roles": [u.role],
                }
                for u in people
            }
        }


def authenticator() -> stauth.Authenticate:
    """A streamlit-authenticator bound to the database's active users."""
    return stauth.Authenticate(
        _credentials(),
        COOKIE_NAME,
        cookie_key(),
        COOKIE_EXPIRY_DAYS,
        auto_hash=False,
        login_sleep_time=0,
    )


def _issued_at(token_exp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(token_exp, dt.UTC) - dt.timedelta(days=COOKIE_EXPIRY_DAYS)


def _restore_from_cookie(auth: stauth.Authenticate) -> None:
    try:
        auth.login(location="unrendered")
    except LoginError:
        # The cookie names someone who is no longer an active user.
        auth.cookie_controller.delete_cookie()
        _clear_session()
        st.session_state[_NOTICE] = "Your account is disabled or was removed."
        return
    if st.session_state.get("authentication_status") and _TOKEN_EXP not in st.session_state:
        token = auth.cookie_controller.get_cookie()
        if token:
            st.session_state[_TOKEN_EXP] = float(token["exp_date"])
            st.session_state[_ISSUED_AT] = _issued_at(float(token["exp_date"]))


def _clear_session() -> None:
    for key in ("authentication_status", "username", "name", "email", "roles"):
        st.session_state[key] = None
    for key in (_ISSUED_AT, _TOKEN_EXP):
        st.session_state.pop(key, None)


def _login_form(auth: stauth.Authenticate) -> None:
    placeholder = st.empty()
    with placeholder.container():
        st.title("Escalation Desk")
        st.caption("Sign in to triage and run client emergencies.")
        notice = st.session_state.pop(_NOTICE, None)
        if notice:
            st.warning(notice)
        with read_scope() as session:
            nobody = not users.has_users(session)
        if nobody:
            # A database migrated at start by `streamlit run app.py` has no account yet.
            st.info(
                "No account exists yet. On the server, run `.venv/bin/python -m core init` in the "
                "project folder: it creates the first administrator and prints a one-time password "
                "(add `--no-demo` to leave out the demo data)."
            )
        with st.form("sign_in"):
            username = st.text_input("Username", key="sign_in_username", autocomplete="username")
            password = st.text_input(
                "Password", type="password", key="sign_in_password", autocomplete="current-password"
            )
            submitted = st.form_submit_button("Sign in", type="primary")
        if not submitted:
            st.stop()
        name = users.normalise_username(username)
        with session_scope() as session:
            result = lockout.authenticate(
                session, username=name, password=password, now=utcnow(), client=client_address(),
                device_token=_device_token(name), device_key=cookie_key(),
            )
        if result.outcome is not lockout.SignInOutcome.OK:
            st.error(result.message)
            st.stop()
    placeholder.empty()
    # The library sets the session state and writes the cookie. It checks the
    # password once more; that cannot fail after `authenticate` said OK.
    auth.authentication_controller.login(name, password)
    auth.cookie_controller.set_cookie()
    if result.device_token:
        _keep_device_token(auth, name, result.device_token)
    exp = auth.cookie_controller.cookie_model.exp_date
    st.session_state[_TOKEN_EXP] = float(exp)
    st.session_state[_ISSUED_AT] = utcnow()


def browser_time_zone() -> str | None:
    """The zone the browser reports (an IANA name, or None; checked by core.people.time_display)."""
    return st.context.timezone


def current_user() -> CurrentUser | None:
    """The signed-in user, checked against the database on every run; None when signed out."""
    username = st.session_state.get("username")
    if not st.session_state.get("authentication_status") or not username:
        return None
    with read_scope() as session:
        problem = users.session_problem(
            session,
            username=username,
            token_expires=st.session_state.get(_TOKEN_EXP),
            issued_at=st.session_state.get(_ISSUED_AT),
        )
        user = None if problem else users.get_by_username(session, username)
        if user is None:
            st.session_state[_NOTICE] = problem
            return None
        # The browser's zone is used, never stored: reading a page writes nothing, and a person who
        # has not set a zone sees the zone of the browser they use today (a laptop that travels).
        zone = display_zone(shows=user.show_times_in, time_zone=user.time_zone, chosen=user.time_zone_chosen,
                            browser=browser_time_zone())
        return CurrentUser(
            id=user.id,
            username=user.username,
            name=user.display_name,
            email=user.email,
            role=Role(user.role),
            time_zone=zone.name,
            must_change_password=user.must_change_password,
            zone=zone,
            time_zone_chosen=user.time_zone_chosen,
        )


def run_authenticator() -> stauth.Authenticate:
    """The authenticator made for this run by `require_user` (its cookie component exists once a run)."""
    return st.session_state[_AUTHENTICATOR]


def require_user() -> tuple[CurrentUser, stauth.Authenticate]:
    """The signed-in user; otherwise show the sign-in form and stop the page."""
    auth = authenticator()
    st.session_state[_AUTHENTICATOR] = auth
    if not st.session_state.get("authentication_status"):
        _restore_from_cookie(auth)
    user = current_user()
    if user is None and st.session_state.get("authentication_status"):
        # Signed in before, but disabled, reset or signed out since: end it here.
        sign_out(auth, revoke=False)
    if user is None:
        _login_form(auth)
        user = current_user()
        if user is None:
            st.error("Signing in did not complete. Reload the page and try again.")
            st.stop()
    return user, auth


def sign_out(auth: stauth.Authenticate, *, revoke: bool = True) -> None:
    """End this session: revoke its cookie server-side, delete it in the browser, clear state."""
    username = st.session_state.get("username")
    token_exp = st.session_state.get(_TOKEN_EXP)
    if revoke and username and token_exp is not None:
        with session_scope() as session:
            users.revoke_session(session, username=username, token_expires=token_exp, now=utcnow())
    # The library raises when its own cookie is already gone; this session is ended either way.
    with contextlib.suppress(Exception):
        auth.logout(location="unrendered")
    _clear_session()


def refresh_cookie_after_password_change() -> None:
    """Issue a new cookie so this session survives the change that ended all older ones."""
    auth = run_authenticator()
    auth.cookie_controller.set_cookie()
    st.session_state[_TOKEN_EXP] = float(auth.cookie_controller.cookie_model.exp_date)
    st.session_state[_ISSUED_AT] = utcnow()
