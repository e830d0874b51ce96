"""Admin › Users and My profile through AppTest: the changes happen and bad input keeps the form."""

from core.people import users
from db.engine import session_scope
from tests.conftest import TEST_PASSWORD
from tests.pages.conftest import page_as, texts


def _user(app_db, username):
    with session_scope(app_db) as s:
        u = users.get_by_username(s, username)
        return None if u is None else (u.role, u.is_active, u.must_change_password)


def test_admin_adds_a_user_and_sees_the_one_time_password_once(people, app_db):
    at = page_as("pages/admin_users.py", "admin1")
    at.text_input(key="new_username").input("Nadia")
    at.text_input(key="new_name").input("Nadia Haddad")
    at.text_input(key="new_email").input("nadia@example.com")
    at.selectbox(key="new_role").select("lead")
    at.button[0].click().run()
    assert not at.exception
    assert "User nadia added" in texts(at)
    one_time = at.code[0].value
    assert len(one_time) == 16
    assert _user(app_db, "nadia") == ("lead", True, True)
    at.run()
    assert not at.code, "the one-time password is shown once"


def test_bad_input_is_explained_and_the_form_keeps_what_was_typed(people, app_db):
    at = page_as("pages/admin_users.py", "admin1")
    at.text_input(key="new_username").input("x")
    at.text_input(key="new_name").input("Xavier")
    at.text_input(key="new_email").input("not-an-email")
    at.button[0].click().run()
    assert "3 to 64 characters" in texts(at)
    assert at.text_input(key="new_name").value == "Xavier"
    assert at.text_input(key="new_email").value == "not-an-email"
    assert _user(app_db, "x") is None


def test_admin_changes_role_disables_enables_and_resets(people, app_db):
    at = page_as("pages/admin_users.py", "admin1")
    at.selectbox(key="manage_user").select("csm1").run()
    at.selectbox(key="manage_role").select("lead").run()
    at.button(key="btn_role").click().run()
    assert "csm1 is now lead" in texts(at)
    assert _user(app_db, "csm1")[0] == "lead"

    at.selectbox(key="manage_user").select("csm1").run()
    at.button(key="btn_disable").click().run()
    assert _user(app_db, "csm1")[1] is False
    at.selectbox(key="manage_user").select("csm1").run()
    at.button(key="btn_enable").click().run()
    assert _user(app_db, "csm1")[1] is True

    at.selectbox(key="manage_user").select("csm1").run()
    at.button(key="btn_reset").click().run()
    assert "One-time password" in texts(at) and len(at.code[0].value) == 16
    assert _user(app_db, "csm1")[2] is True


def test_last_admin_cannot_demote_themself(people, app_db):
    at = page_as("pages/admin_users.py", "admin1")
    at.selectbox(key="manage_user").select("admin1").run()
    at.selectbox(key="manage_role").select("csm").run()
    at.button(key="btn_role").click().run()
    assert "last active administrator" in texts(at)
    assert _user(app_db, "admin1")[0] == "admin"


def test_disabled_user_is_signed_out_at_next_interaction(people, app_db):
    at = page_as("pages/home.py", "csm1")
    assert "Hello, Csm1" in texts(at)
    with session_scope(app_db) as s:
        users.set_active(s, username="csm1", active=False, actor=users.SYSTEM, now=users.dt.datetime.now(users.dt.UTC))
    at.run()
    assert "Hello, Csm1" not in texts(at)
    assert "disabled" in texts(at)
    assert [t.label for t in at.text_input] == ["Username", "Password"]


def test_one_time_password_forces_a_change_before_any_page(people, app_db):
    with session_scope(app_db) as s:
        s.get(users.User, people["csm"]).must_change_password = True
    at = page_as("pages/home.py", "csm1")
    assert "Choose your own password" in texts(at)
    assert "Hello" not in texts(at)
    at.text_input(key="pw_current_0").input(TEST_PASSWORD)
    at.text_input(key="pw_new_0").input("short")
    at.text_input(key="pw_repeat_0").input("short")
    at.button[0].click().run()
    assert "use at least 12" in texts(at)


def test_profile_change_password_rules(people, app_db):
    at = page_as("pages/profile.py", "lead1")
    at.text_input(key="pw_current_0").input("wrong current password")
    at.text_input(key="pw_new_0").input("a much better passphrase")
    at.text_input(key="pw_repeat_0").input("a much better passphrase")
    at.button[1].click().run()
    assert "current password is not right" in texts(at)
    at.text_input(key="pw_current_0").input(TEST_PASSWORD)
    at.text_input(key="pw_repeat_0").input("a different passphrase")
    at.button[1].click().run()
    assert "two new passwords differ" in texts(at)


def test_profile_saves_time_zone(people, app_db):
    at = page_as("pages/profile.py", "csm1")
    at.selectbox(key="profile_zone").select("Europe/Paris")
    at.button[0].click().run()
    assert "Details saved" in texts(at)
    with session_scope(app_db) as s:
        assert users.get_by_username(s, "csm1").time_zone == "Europe/Paris"


def test_profile_password_change_keeps_this_session_and_ends_older_ones(people, app_db):
    at = page_as("pages/profile.py", "lead1")
    at.text_input(key="pw_current_0").input(TEST_PASSWORD)
    at.text_input(key="pw_new_0").input("a much better passphrase")
    at.text_input(key="pw_repeat_0").input("a much better passphrase")
    at.button[1].click().run()
    assert "Password changed" in texts(at)
    at.run()
    assert "My profile" in texts(at), "this session survives its own password change"
    older = page_as("pages/home.py", None)
    older.session_state["authentication_status"] = True
    older.session_state["username"] = "lead1"
    older.session_state["_ed_session_issued_at"] = users.dt.datetime(2020, 1, 1, tzinfo=users.dt.UTC)
    older.run()
    assert "password was changed" in texts(older)
