"""Exports: Markdown and PDF of the report and post-mortem, and the client's recovery summary."""

import dataclasses
import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from core.incident import flows as incidents
from core.incident import reviews
from core.incident.lifecycle import Milestone
from core.people.access import Role
from core.people.users import SYSTEM, Actor
from core.policy import store as policy_store
from core.report import exports, pdf_fonts
from core.report import flows as reports
from core.report.lifecycle import ReportKind
from core.report.record import EarlierPostMortem
from core.report.sections import REPORT_SECTIONS, SECTIONS
from core.triage.rules import Answers
from db.engine import session_scope
from db.models import Account
from tests.conftest import NOW, make_user
from tests.literal_text import hostile, raw_fragments, visible_text

DETECTED = NOW - dt.timedelta(hours=8)
NOTE = "Pool exhausted after the 07:40 deploy by the platform team"


@pytest.fixture
def resolved(engine):
    """A red-status outage at Acme, escalated, noted, resolved 7 h after detection, with both documents."""
    csm = make_user(engine, "csm1", "csm")
    lead = make_user(engine, "lead1", "lead")
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=NOW)
        account = Account(name="Acme Corp", tier="enterprise", annual_contract_value=Decimal(120000), owner_id=csm,
                          time_zone="America/New_York",
                          contract_terms={"service_credits": "10% of the monthly fee per hour of outage beyond SLA"})
        s.add(account)
        s.flush()
        answers = Answers(business_impact="stopped", complete_outage=True, revenue_impact_per_hour=8000,
                          users_affected_pct=100)
        iid = incidents.open_incident(s, account_id=account.id, title="Checkout down", summary="Customers cannot pay.",
                                      answers=answers, policy_name="red-status", actor=SYSTEM, now=DETECTED,
                                      detected_at=DETECTED).id
        for milestone, minutes in ((Milestone.ACKNOWLEDGED, 6), (Milestone.CLIENT_NOTIFIED, 18),
                                   (Milestone.MOBILIZED, 30)):
            at = DETECTED + dt.timedelta(minutes=minutes)
            incidents.record_milestone(s, incident_id=iid, milestone=milestone, actor=SYSTEM, now=at, at=at)
        incidents.escalate(s, incident_id=iid, to_level="L2", reason="Needs the engineering manager",
                           actor=SYSTEM, now=DETECTED + dt.timedelta(hours=1))
        incidents.add_note(s, incident_id=iid, text=NOTE, actor=SYSTEM, now=DETECTED + dt.timedelta(hours=2))
        incidents.record_milestone(s, incident_id=iid, milestone=Milestone.RESOLVED, actor=SYSTEM,
                                   now=DETECTED + dt.timedelta(hours=7), at=DETECTED + dt.timedelta(hours=7))
    lead_actor = Actor(lead, "lead1", Role.LEAD)
    with session_scope(engine) as s:
        for kind in ("report", "postmortem"):
            reports.save_sections(s, incident_id=iid, kind=kind, sections={}, actor=lead_actor,
                                  now=NOW, expected_version=reports.UNSAVED_VERSION)
        reports.add_postmortem_action(s, incident_id=iid, title="Add a canary stage to deploys", owner_id=csm,
                                      due_at=NOW + dt.timedelta(days=7), actor=lead_actor, now=NOW)
    return engine, iid


def _views(engine, iid):
    with session_scope(engine) as s:
        return (reports.report_view(s, iid, "report", actor=SYSTEM, now=NOW),
                reports.report_view(s, iid, "postmortem", actor=SYSTEM, now=NOW),
                reviews.review_tasks(s, iid))


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_markdown_has_every_section_and_the_key_figures(resolved):
    engine, iid = resolved
    report, postmortem, _ = _views(engine, iid)
    text = exports.to_markdown(report, now=NOW)
    assert text.startswith(f"# Critical incident report: #{iid} Checkout down")
    for section in REPORT_SECTIONS:
        assert f"\n## {section.title}\n" in text
    assert "Client: Acme Corp | Package: enterprise | CSM: Csm1" in text
    # Section text is what people wrote: escaped in the file, the same words on screen.
    shown = visible_text(text)
    assert "Total duration: 7h 00m" in shown and "Service credits: $5,000" in shown and "$56,000" in shown
    pm = exports.to_markdown(postmortem, now=NOW)
    for title in ("Incident summary", "What went well", "What could be improved", "Action items"):
        assert f"\n## {title}\n" in pm
    assert "| Add a canary stage to deploys | Csm1 | 2026-03-09 09:00 UTC | open |" in pm


def _hostile(view):
    """The view with hostile text in every field people type that the documents show."""
    record = dataclasses.replace(
        view.record, title=hostile("title"), account_name=hostile("account"), owner_name=hostile("owner"),
        severity_label=hostile("label"),
        action_items=[dataclasses.replace(i, title=hostile("action"), owner=hostile("actionowner"))
                      for i in view.record.action_items],
        earlier=[EarlierPostMortem(99, hostile("earlier"), NOW, NOW, "draft")])
    return dataclasses.replace(view, record=record, updated_by=hostile("editor"), status_changed_by=hostile("mover"),
                               sections={key: hostile(f"section{key.replace('_', '')}") for key in view.sections})


def test_markdown_and_pdf_show_typed_text_literally(resolved):
    engine, iid = resolved
    checked = 0
    for view in (_hostile(v) for v in _views(engine, iid)[:2]):
        tags = ["title", "account", "owner", "label", "earlier", "editor", "mover",
                *(f"section{key.replace('_', '')}" for key in view.sections)]
        if view.kind is ReportKind.POSTMORTEM:
            tags += ["action", "actionowner"]
        md = exports.to_markdown(view, now=NOW)
        pdf = " ".join(_pdf_text(exports.to_pdf(view, now=NOW)).split())
        for tag in tags:
            assert not [f for f in raw_fragments(tag) if f in md], tag
            assert hostile(tag) in visible_text(md), f"{tag} is shown in the Markdown"
            # Action-item cells are narrow table columns that wrap: their first words must survive as typed.
            printed = f"**B-{tag}**" if tag.startswith("action") else hostile(tag)
            assert printed in pdf, f"{tag} is printed as typed in the PDF"
            checked += 1
        # Unescaped syntax anywhere in the file: an image, a link target, HTML.
        assert not re.search(r"(?<!\\)!(?<!\\)\[|(?<!\\)\]\(|(?<!\\)<", md)
        assert [line for line in md.splitlines() if line.startswith("#")] == [
            md.splitlines()[0], *(f"## {s.title}" for s in SECTIONS[view.kind]),
            *(["## Action items"] if view.kind is ReportKind.POSTMORTEM else []),
            "## Earlier post-mortems on this account"]
    print(f"literal text in exports: {checked} fields checked in Markdown and PDF")
    assert checked >= 25  # 13 fields of the report, 12 of the post-mortem


def test_pdf_text_holds_the_sections_figures_and_timeline(resolved):
    engine, iid = resolved
    report, postmortem, _ = _views(engine, iid)
    data = exports.to_pdf(report, now=NOW)
    assert data.startswith(b"%PDF-")
    text = " ".join(_pdf_text(data).split())
    for section in REPORT_SECTIONS:
        assert section.title in text
    for figure in (f"#{iid} Checkout down", "Total duration: 7h 00m", "Service credits: $5,000", "$56,000",
                   "Users affected: 100%", "Incident timeline", "Resolve target", "To L2"):
        assert figure in text, figure
    pm_text = " ".join(_pdf_text(exports.to_pdf(postmortem, now=NOW)).split())
    for title in ("Blameless post-mortem", "What went well", "What could be improved", "Action items",
                  "Add a canary stage to deploys"):
        assert title in pm_text, title


def test_chart_marks_milestones_and_escalations_in_order(resolved):
    engine, iid = resolved
    report, _, _ = _views(engine, iid)
    labels = [label for _at, label in exports.chart_points(report.record)]
    assert labels == ["Detected", "Acknowledged", "Client told", "Mobilised", "To L2", "Resolved"]


def _fonts(pdf: bytes) -> set[str]:
    """The base names of the fonts a PDF's pages use, subset tag left off (Type 3 fonts have none: '(type 3)')."""
    names = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            name = str(font.get_object().get("/BaseFont", "(type 3)"))
            names.add(name.split("+", 1)[-1].lstrip("/"))
    return names


def _read(pdf: bytes) -> str:
    # pypdf 7 reads the embedded CMap encoding fpdf2 writes for a CID-keyed CFF font (Noto Sans CJK)
    # one byte at a time, so each CJK character comes out after a NUL; poppler's pdftotext reads the
    # same file exactly. Whitespace is folded: the extraction guesses spaces from glyph positions.
    return "".join(_pdf_text(pdf).replace("\x00", "").split())


@pytest.fixture
def noto():
    """The Noto fonts `make test` installs; without them the PDF falls back to Helvetica and these tests fail."""
    missing = pdf_fonts.missing_packages()
    if missing:
        pytest.fail(f"the PDF fonts are not installed: run `make fonts` (apt-get install {' '.join(missing)})")


def test_make_fonts_installs_the_package_of_every_pdf_font():
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text(encoding="utf-8")
    [line] = [line for line in makefile.splitlines() if line.startswith("FONT_PACKAGES")]
    assert set(line.split(":=")[1].split()) == {face.package for face in (pdf_fonts.BODY, *pdf_fonts.FALLBACKS)}


def test_pdf_prints_emoji_and_cjk_as_typed(resolved, noto):
    engine, iid = resolved
    report, postmortem, _ = _views(engine, iid)
    title = "Checkout down 🔥 決済エラー"
    for view in (report, postmortem):
        edited = dataclasses.replace(view, record=dataclasses.replace(view.record, title=title))
        pdf = exports.to_pdf(edited, now=NOW)
        text = _read(pdf)
        assert f"#{iid}Checkoutdown🔥決済エラー" in text, "the title as typed, emoji and Japanese included"
        assert "?" not in text, "no character replaced by a question mark"
        # The bold title borrows the bold CJK face; the emoji font is a Type 3 font of colour bitmaps.
        assert {"NotoSans", "NotoSansBold", "NotoSansCJKJP", "NotoSansCJKJPBold", "(type 3)"} <= _fonts(pdf)


@pytest.mark.parametrize("typed", [
    "Canary → prod — “quoted” 日本 ≥ 99.9 % ✅ ⚠️ Ελληνικά Кириллица € …",
    "한국어 고객 · 中文客户 · 絵文字 😀🚨⏰",
])
def test_pdf_prints_typed_sections_beyond_latin1(resolved, noto, typed):
    engine, iid = resolved
    report, _, _ = _views(engine, iid)
    edited = dataclasses.replace(report, sections={**report.sections, "prevention": typed})
    text = _read(exports.to_pdf(edited, now=NOW))
    # U+FE0F (emoji presentation) has no glyph of its own: it is left out, not printed as a box.
    assert "".join(typed.replace("\ufe0f", "").split()) in text


def test_a_latin_pdf_loads_no_cjk_or_emoji_font_and_stays_small(resolved, noto):
    engine, iid = resolved
    report, postmortem, _ = _views(engine, iid)
    for view in (report, postmortem):
        pdf = exports.to_pdf(view, now=NOW)
        # Debian's Noto Sans has no arrows: the first draft's "→" comes from Noto Sans Symbols.
        assert _fonts(pdf) <= {"NotoSans", "NotoSansBold", "NotoSansSymbols", "NotoSansSymbolsBold"}, _fonts(pdf)
        assert len(pdf) < 60_000, f"subset fonts keep a report small: {len(pdf):,} bytes"


def test_without_the_noto_fonts_the_pdf_falls_back_to_helvetica(resolved, monkeypatch):
    engine, iid = resolved
    report, _, _ = _views(engine, iid)
    missing = dataclasses.replace(pdf_fonts.BODY, files={"": pdf_fonts.TRUETYPE / "not-installed.ttf"})
    monkeypatch.setattr(pdf_fonts, "BODY", missing)
    edited = dataclasses.replace(report, sections={**report.sections, "prevention": "Canary → prod — “quoted” 日本"})
    pdf = exports.to_pdf(edited, now=NOW)
    assert 'Canary -> prod - "quoted" ??' in _pdf_text(pdf), "ASCII stand-ins where Latin-1 has no character"
    assert _fonts(pdf) == {"Helvetica", "Helvetica-Bold"}


def test_recovery_summary_speaks_to_the_client_without_internals(resolved):
    engine, iid = resolved
    report, _, tasks = _views(engine, iid)
    text = exports.recovery_summary(report.record, tasks)
    assert text.startswith(f"Subject: Resolved: Checkout down (reference #{iid})")
    # Times in the client's zone: detection 01:00 UTC is 20:00 the evening before in New York.
    assert "Sunday 01 March 2026, 20:00 EST" in text and "7h 00m later" in text
    assert "service credit of $5,000.00" in text
    assert "- Add a canary stage to deploys" in text
    assert text.count("We will check in with you on:") == 1 and "Monday 09 March 2026" in text
    for internal in (NOTE, "Customers cannot pay.", "Csm1", "csm1", "lead1", "P1", "P0", "red-status", "L2",
                     "engineering manager",
                     "$56,000", "revenue", "Severity", "policy"):
        assert internal not in text, internal


@pytest.mark.parametrize("zone, detected, pdf_note", [
    ("UTC", "Detected 2026-03-02 01:00 UTC", "Times in UTC."),
    ("Europe/Paris", "Detected 2026-03-02 02:00 CET", "Times in Europe/Paris."),
    ("America/Los_Angeles", "Detected 2026-03-01 17:00 PST", "Times in America/Los_Angeles."),
])
def test_internal_exports_show_the_exporters_zone_and_say_so(resolved, zone, detected, pdf_note):
    engine, iid = resolved
    report, postmortem, _ = _views(engine, iid)
    text = exports.to_markdown(report, now=NOW, time_zone=zone)
    assert detected in text and f"Times shown in {zone}" in text
    pdf = _pdf_text(exports.to_pdf(report, now=NOW, time_zone=zone))
    assert pdf_note in pdf and detected in pdf
    due = {"UTC": "2026-03-09 09:00 UTC", "Europe/Paris": "2026-03-09 10:00 CET",
           "America/Los_Angeles": "2026-03-09 02:00 PDT"}[zone]  # the US is on summer time from 8 March
    assert f"| Add a canary stage to deploys | Csm1 | {due} | open |" in exports.to_markdown(postmortem, now=NOW,
                                                                                            time_zone=zone)


def test_the_client_summary_is_in_the_clients_zone_and_says_so(resolved):
    engine, iid = resolved
    report, _, tasks = _views(engine, iid)
    text = exports.recovery_summary(report.record, tasks)
    assert "All times in this message are America/New_York time." in text
    assert "20:00 EST" in text and "UTC" not in text
    # An account with no valid zone: UTC, said as plainly.
    unzoned = dataclasses.replace(report.record, account_time_zone="Nowhere/Land")
    assert "All times in this message are UTC time." in exports.recovery_summary(unzoned, tasks)
