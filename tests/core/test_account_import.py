"""CSV import of accounts and health signals: preview, row errors, all or nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core.account import importer as imp
from core.account.service import AccountForbidden, Editor
from core.people.access import Role
from db.engine import read_scope, session_scope
from db.models import Account, HealthSignal
from tests.conftest import NOW, make_user

GOOD = (
    "name,tier,annual_contract_value,renewal_date,owner,time_zone,response_commitment,service_credits,"
    "contact_name,contact_email,contact_channel\n"
    "Acme Corp,enterprise,120000,2027-01-31,csm1,Europe/Paris,1 hour 24/7,10% per hour,"
    "Ana Martin,ana@acme.example,phone\n"
    "Globex,Basic,3000,,,UTC,,,,,\n"
)


@pytest.fixture
def admin(engine):
    make_user(engine, "csm1", "csm")
    return Editor(make_user(engine, "admin1", "admin"), "admin1", Role.ADMIN)


def account_count(engine) -> int:
    with read_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(Account))


def test_good_file_previews_then_imports_everything(engine, admin):
    with read_scope(engine) as s:
        preview = imp.preview_accounts(s, GOOD.encode())
    assert preview.ok and [line for line, _ in preview.rows] == [2, 3]
    assert account_count(engine) == 0  # a preview writes nothing
    with session_scope(engine) as s:
        assert imp.import_accounts(s, GOOD.encode(), editor=admin, now=NOW) == 2
    with read_scope(engine) as s:
        acme = s.scalar(select(Account).where(Account.name == "Acme Corp"))
        assert acme.owner.username == "csm1" and acme.tier == "enterprise" and acme.time_zone == "Europe/Paris"
        assert acme.contract_terms == {"response_commitment": "1 hour 24/7", "service_credits": "10% per hour"}
        assert [(c.name, c.email, c.preferred_channel, c.is_primary) for c in acme.contacts] == [
            ("Ana Martin", "ana@acme.example", "phone", True)]
        assert s.scalar(select(Account.tier).where(Account.name == "Globex")) == "basic"


def test_bad_rows_are_listed_by_line_and_nothing_is_imported(engine, admin):
    bad = GOOD + (
        "Initech,gold,1000,,,,,,,,\n"
        "Umbrella,pro,-3,,,,,,,,\n"
        "Hooli,pro,1000,,nobody,,,,,,\n"
        "globex,pro,1000,,,,,,,,\n"
        "Soylent,pro,1000,,,Mars/Base,,,,,\n"
        "Stark,pro\n"
    )
    with read_scope(engine) as s:
        preview = imp.preview_accounts(s, bad.encode())
    assert not preview.ok
    assert [(line, message.split(":")[0]) for line, message in preview.row_errors] == [
        (4, "tier"), (5, "annual contract value"), (6, "owner"), (7, "name"), (8, "time zone"),
        (9, "has 2 values but the header names 11 columns")]
    assert "'globex' is also on line 3" in preview.row_errors[3][1]
    with pytest.raises(imp.ImportRefused, match="Nothing was imported: 6 problem"), session_scope(engine) as s:
        imp.import_accounts(s, bad.encode(), editor=admin, now=NOW)
    assert account_count(engine) == 0


def test_existing_account_names_are_row_errors(engine, admin):
    with session_scope(engine) as s:
        imp.import_accounts(s, GOOD.encode(), editor=admin, now=NOW)
    with read_scope(engine) as s:
        preview = imp.preview_accounts(s, GOOD.encode())
    assert [m for _, m in preview.row_errors] == ["name: an account named 'Acme Corp' already exists",
                                                  "name: an account named 'Globex' already exists"]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"name,tier,acv,colour\nA,pro,1,red\n",
         "Unknown column(s): acv, colour. Allowed columns: name, tier, annual_contract_value"),
        (b"name,tier,acv\nA,pro,1\n", "Missing required column(s): annual_contract_value."),
        (b"name,tier,annual_contract_value,tier\n", "Column(s) named twice: tier."),
        (b"", "The file is empty"),
        (b"name,tier,annual_contract_value\n", "The file has a header but no rows."),
        ("name,tier,annual_contract_value\nCafé Noir,pro,100\n".encode("latin-1"),
         "The file is not UTF-8: byte 0xE9 at position 35 (line 2) cannot be read"),
    ],
)
def test_file_level_problems_are_named(engine, admin, content, message):
    with read_scope(engine) as s:
        preview = imp.preview_accounts(s, content)
    assert not preview.ok and not preview.rows
    assert any(message in error for error in preview.file_errors), preview.file_errors


def test_huge_file_is_refused_with_its_size_limit(engine, admin):
    huge = GOOD.encode() + b"x" * imp.MAX_BYTES
    with read_scope(engine) as s:
        preview = imp.preview_accounts(s, huge)
    assert preview.file_errors == ["The file is 2.0 MB; the limit is 2 MB. Split it into smaller files."]
    with pytest.raises(imp.ImportRefused), session_scope(engine) as s:
        imp.import_accounts(s, huge, editor=admin, now=NOW)


def test_utf8_with_bom_is_read(engine, admin):
    with read_scope(engine) as s:
        assert imp.preview_accounts(s, b"\xef\xbb\xbf" + "name,tier,annual_contract_value\nCafé,pro,1\n".encode()).ok


@pytest.mark.parametrize("role", ["csm", "lead"])
def test_only_admins_import(engine, admin, role):
    with pytest.raises(AccountForbidden), session_scope(engine) as s:
        imp.import_accounts(s, GOOD.encode(), editor=Editor(admin.id, "x", Role(role)), now=NOW)


# --------------------------------------------------------------------------
# Health signals.

SIGNALS = (
    "account,metric,observed_at,value,target\n"
    "Acme Corp,csat,2026-03-01,6.5,\n"
    "Acme Corp,key_metric,2026-03-01T08:00:00+01:00,70,100\n"
    "globex,support_tickets,2026-02-28,3,\n"
)


@pytest.fixture
def accounts(engine, admin):
    with session_scope(engine) as s:
        imp.import_accounts(s, GOOD.encode(), editor=admin, now=NOW)


def test_signals_import(engine, admin, accounts):
    with session_scope(engine) as s:
        assert imp.import_signals(s, SIGNALS.encode(), editor=admin, now=NOW) == 3
    with read_scope(engine) as s:
        rows = s.execute(select(HealthSignal.metric, HealthSignal.observed_at, HealthSignal.value, HealthSignal.target,
                                HealthSignal.source).order_by(HealthSignal.id)).all()
    assert rows == [
        ("csat", dt.datetime(2026, 3, 1, tzinfo=dt.UTC), 6.5, None, "import"),
        ("key_metric", dt.datetime(2026, 3, 1, 7, tzinfo=dt.UTC), 70.0, 100.0, "import"),
        ("support_tickets", dt.datetime(2026, 2, 28, tzinfo=dt.UTC), 3.0, None, "import"),
    ]
    with read_scope(engine) as s:  # the same file again: every row already imported
        again = imp.preview_signals(s, SIGNALS.encode(), now=NOW)
    assert [m for _, m in again.row_errors] == ["this reading was already imported"] * 3


def test_signal_rows_with_errors_import_nothing(engine, admin, accounts):
    bad = SIGNALS + (
        "Nobody Inc,csat,2026-03-01,5,\n"
        "Acme Corp,nps,2026-03-01,5,\n"
        "Acme Corp,csat,2026-03-01,12,\n"
        "Acme Corp,uptime_pct,2026-03-09,99,\n"
        "Acme Corp,csat,2026-03-01,5,\n"
        "Acme Corp,csat,yesterday,5,\n"
    )
    with read_scope(engine) as s:
        preview = imp.preview_signals(s, bad.encode(), now=NOW)
    assert [line for line, _ in preview.row_errors] == [5, 6, 7, 8, 9, 10]
    assert "no account named 'Nobody Inc'" in preview.row_errors[0][1]
    assert "unknown metric 'nps'" in preview.row_errors[1][1]
    assert "between 0 and 10" in preview.row_errors[2][1]
    assert "in the future" in preview.row_errors[3][1]
    assert "also on line 2" in preview.row_errors[4][1]
    assert preview.row_errors[5][1].startswith("observed at: Input should be a valid datetime")
    with pytest.raises(imp.ImportRefused), session_scope(engine) as s:
        imp.import_signals(s, bad.encode(), editor=admin, now=NOW)
    with read_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(HealthSignal)) == 0


def test_signals_for_archived_accounts_are_refused(engine, admin, accounts):
    from core.account.service import set_archived

    with session_scope(engine) as s:
        acme = s.scalar(select(Account).where(Account.name == "Acme Corp"))
        set_archived(s, account_id=acme.id, archived=True, expected_version=acme.version, editor=admin, now=NOW)
    with read_scope(engine) as s:
        preview = imp.preview_signals(s, SIGNALS.encode(), now=NOW)
    assert [m for _, m in preview.row_errors] == ["account: 'Acme Corp' is archived; restore it first"] * 2


# --------------------------------------------------------------------------
# Hostile files: each is refused with a message naming the line (or the file), and nothing is imported.

H = "name,tier,annual_contract_value\n"
SH = "account,metric,observed_at,value,target\n"
LONG = "x" * 140_000

HOSTILE_CSV = [
    # (name, kind, content, line or None for a file problem, fragment)
    ("field over the csv limit", "accounts", f"{H}Acme,pro,{LONG}\n", 2, "a value is longer than 131,072 characters"),
    ("quoted field over the limit", "accounts", f'{H}Acme,pro,1\n"{LONG}\n{LONG}",pro,1\n', 3,
     "a value is longer than 131,072 characters"),
    ("NUL in a name", "accounts", f"{H}Ac\x00me,pro,1\n", 2, "name: contains a NUL character"),
    ("NUL in a tier", "accounts", f"{H}Acme,pr\x00o,1\n", 2, "tier: contains a NUL character"),
    ("NUL in a contact email", "accounts", "name,tier,annual_contract_value,contact_name,contact_email\n"
     "Acme,pro,1,Ana,ana\x00@acme.example\n", 2, "contact email: contains a NUL character"),
    ("quote never closed", "accounts", f'{H}Acme,pro,1\n"Globex,basic,2\nInitech,pro,3\n', 3,
     "never closed"),
    ("text after a closing quote", "accounts", f'{H}"Acme"Corp,pro,1\n', 2, "text follows a closing quote"),
    ("too many columns", "accounts", f"{H}Acme,pro,1,extra\n", 2, "has 4 values but the header names 3 columns"),
    ("too few columns", "accounts", f"{H}Acme,pro\n", 2, "has 2 values but the header names 3 columns"),
    ("latin-1 bytes", "accounts", f"{H}Café,pro,1\n".encode("latin-1"), None, "not UTF-8: byte 0xE9"),
    ("UTF-16 with its BOM", "accounts", f"{H}Acme,pro,1\n".encode("utf-16"), None, "not UTF-8: byte 0xFF"),
    ("two BOMs", "accounts", ("\ufeff" + H + "Acme,pro,1\n").encode("utf-8-sig"), None,
     "Unknown column(s): \ufeffname"),
    ("CR-only line endings", "accounts", "name,tier,annual_contract_value\rAcme,pro,1\rGlobex,gold,1\r", 3,
     "tier: 'gold' is not allowed"),
    ("formula name and a negative value", "accounts", f'{H}"=HYPERLINK(""http://x.example"")",pro,-1\n', 2,
     "annual contract value"),
    ("name over 120 characters", "accounts", f"{H}{'N' * 121},pro,1\n", 2, "name: is 121 characters long"),
    ("name on two lines", "accounts", f'{H}"Acme\nCorp",pro,1\n', 2, "name: must be on one line"),
    ("contract term over 500 characters", "accounts", "name,tier,annual_contract_value,service_credits\n"
     f"Acme,pro,1,{'c' * 501}\n", 2, "is 501 characters long; the limit is 500"),
    ("empty file", "accounts", "", None, "The file is empty"),
    ("header only", "accounts", H, None, "header but no rows"),
    ("formula as a column name", "accounts", "name,tier,annual_contract_value,=cmd|'/C calc'!A0\nA,pro,1,x\n",
     None, "Unknown column(s): =cmd"),
    ("the same account twice", "accounts", f"{H}Acme,pro,1\nacme,pro,2\n", 3, "also on line 2"),
    ("over the size limit", "accounts", H + "Acme,pro,1\n" * 200_000, None, "the limit is 2 MB"),
    ("over the row limit", "accounts", H + "".join(f"A{i},pro,1\n" for i in range(imp.MAX_ROWS + 1)), None,
     f"more than {imp.MAX_ROWS} rows"),
    ("signal: NUL in the account", "signals", f"{SH}Acme\x00 Corp,csat,2026-03-01,5,\n", 2,
     "account: contains a NUL character"),
    ("signal: field over the limit", "signals", f"{SH}Acme Corp,csat,2026-03-01,{LONG},\n", 2,
     "a value is longer than 131,072 characters"),
    ("signal: quote never closed", "signals", f'{SH}Acme Corp,csat,"2026-03-01,5,\n', 2, "never closed"),
]


def _preview(engine, kind, data):
    with read_scope(engine) as s:
        return imp.preview_accounts(s, data) if kind == "accounts" else imp.preview_signals(s, data, now=NOW)


def _stored(engine) -> tuple[int, int]:
    with read_scope(engine) as s:
        return (s.scalar(select(func.count()).select_from(Account)),
                s.scalar(select(func.count()).select_from(HealthSignal)))


def test_hostile_csv_files_are_refused_line_by_line_and_import_nothing(engine, admin, accounts):
    before = _stored(engine)
    refused = 0
    for name, kind, content, line, fragment in HOSTILE_CSV:
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        preview = _preview(engine, kind, data)
        assert not preview.ok, name
        if line is None:
            assert any(fragment in e for e in preview.file_errors), (name, preview.file_errors)
        else:
            assert any(at == line and fragment in m for at, m in preview.row_errors), (name, preview.row_errors)
        run = imp.import_accounts if kind == "accounts" else imp.import_signals
        with pytest.raises(imp.ImportRefused), session_scope(engine) as s:
            run(s, data, editor=admin, now=NOW)
        assert _stored(engine) == before, name
        refused += 1
    print(f"hostile CSV files: {len(HOSTILE_CSV)} checked, {refused} refused, nothing imported")
    assert refused == len(HOSTILE_CSV) >= 20


def test_formula_like_text_is_a_warning_not_a_refusal(engine, admin):
    content = (b"name,tier,annual_contract_value,service_credits,contact_name,contact_role\n"
               b"Acme,pro,1,=1+2,Ana,@ops\n"
               b"Globex,basic,2,\"\t-10% per hour\",Bo,+cmd\n"
               b"Initech,pro,3,10% per hour,Cy,Lead\n")
    with read_scope(engine) as s:
        preview = imp.preview_accounts(s, content)
    assert preview.ok
    assert [(line, message.split(":")[0]) for line, message in preview.warnings] == [
        (2, "service credits"), (2, "contact role"), (3, "service credits"), (3, "contact role")]
    assert "starts with '='" in preview.warnings[0][1] and "starts with '\\t'" in preview.warnings[2][1]
    with session_scope(engine) as s:
        assert imp.import_accounts(s, content, editor=admin, now=NOW) == 3
    with read_scope(engine) as s:  # stored as typed: only exports neutralise
        acme = s.scalar(select(Account).where(Account.name == "Acme"))
        assert acme.contract_terms["service_credits"] == "=1+2" and acme.contacts[0].role == "@ops"
