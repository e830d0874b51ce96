"""Exports of the after-incident documents: Markdown, PDF with a timeline chart, and the client summary.

The Markdown and PDF carry the report or post-mortem exactly as saved, with
its status and a header from the record. In the Markdown every text people
wrote (titles, names, sections, action items) is escaped, so a viewer shows
it literally and never as a link, an image to fetch, or HTML; the PDF prints
text as text. The PDF draws the incident's timeline itself (fpdf2, no
browser, no network). The client recovery summary is plain text written for
the client: it never contains internal names, notes, severities, policies,
escalation levels or revenue estimates. Times: the Markdown and PDF are
internal, so their header, chart and action items are in the zone of the person
exporting (`time_zone`: their own or UTC) and say so, while the sections keep the
zone they were written in; the client summary is always in the client's zone
and says which. The PDF is set in Noto (see core.report.pdf_fonts) so emoji and
Japanese, Chinese or Korean text print as typed; on a machine without those
fonts it falls back to Helvetica with ASCII stand-ins. Never imports streamlit,
never reads the clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fpdf import FPDF

from core.incident.reviews import ReviewTaskRow
from core.report import pdf_fonts
from core.report.flows import ReportView
from core.report.lifecycle import KIND_TITLES, REPORT_STATUS_LABELS, ReportKind, ReportStatus
from core.report.record import POSTMORTEM_SOURCE, EarlierPostMortem, IncidentRecord, RecordItem
from core.report.sections import SECTIONS, service_credit, span, when
from core.text import markdown_literal
from core.zones import UTC_NAME, zone_or_none

# Helvetica (used only where the Noto fonts are not installed) speaks Latin-1 only: the few
# characters our texts use beyond it get an honest ASCII stand-in rather than a question mark.
_LATIN1 = str.maketrans({"→": "->", "—": "-", "–": "-", "…": "...", "•": "-", "’": "'", "‘": "'",
                         "“": '"', "”": '"', "≥": ">=", "≤": "<=", "€": "EUR ", "·": "-"})


def _plain(text: str) -> str:
    return text


def _header_lines(view: ReportView, time_zone: str, shown: Callable[[str], str] = _plain) -> list[str]:
    # `shown` turns each value people typed into what the format needs (escaped for Markdown).
    record = view.record

    def at(value: dt.datetime | None) -> str:
        return when(value, time_zone)

    status = REPORT_STATUS_LABELS[ReportStatus(view.status)]
    return [
        f"Incident: #{record.id} {shown(record.title)}",
        f"Client: {shown(record.account_name)} | Package: {shown(record.account_tier)} | "
        f"CSM: {shown(record.owner_name)}",
        f"Severity: {record.severity} ({shown(record.severity_label)})"
        + (" | RED STATUS" if record.red_status else ""),
        f"Detected {at(record.milestones['detected'])} | Resolved {at(record.resolved_at)} | "
        f"Duration {span(record.duration)}",
        f"Status: {status}, moved by {shown(view.status_changed_by)} on {at(view.status_changed_at)} | "
        f"Last edit by {shown(view.updated_by)} on {at(view.updated_at)} (version {view.version})",
        f"Times shown in {time_zone} (the text below names the zone it was written in)",
    ]


def _item_line(item: RecordItem, now: dt.datetime, time_zone: str) -> tuple[str, str, str, str]:
    if item.done_at:
        state = f"done {when(item.done_at, time_zone)}"
    elif item.due_at and item.due_at < now:
        state = "OVERDUE"
    else:
        state = "open"
    return item.title, item.owner, when(item.due_at, time_zone), state


def to_markdown(view: ReportView, *, now: dt.datetime, time_zone: str = UTC_NAME) -> str:
    """The report or post-mortem as a Markdown document, its header's times in `time_zone`."""
    lines = [f"# {KIND_TITLES[view.kind]}: #{view.record.id} {markdown_literal(view.record.title)}", ""]
    lines += [f"- {line}" for line in _header_lines(view, time_zone, markdown_literal)]
    for section in SECTIONS[view.kind]:
        text = view.sections.get(section.key, "").strip()
        lines += ["", f"## {section.title}", "", markdown_literal(text) if text else "_(empty)_"]
    if view.kind is ReportKind.POSTMORTEM:
        lines += ["", "## Action items", ""]
        items = view.postmortem_items
        if items:
            lines += ["| Action | Owner | Due | State |", "|---|---|---|---|"]
            for item in items:
                title, owner, due, state = _item_line(item, now, time_zone)
                # A table row is one line: line breaks in a cell become spaces.
                title, owner = (markdown_literal(" ".join(cell.split())) for cell in (title, owner))
                lines.append(f"| {title} | {owner} | {due} | {state} |")
        else:
            lines.append("No action item yet.")
    if view.record.earlier:
        lines += ["", "## Earlier post-mortems on this account", ""]
        lines += [f"- #{e.incident_id} {markdown_literal(e.title)} (detected {when(e.detected_at, time_zone)}, "
                  f"post-mortem {REPORT_STATUS_LABELS[ReportStatus(e.status)].lower()})" for e in view.record.earlier]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# PDF.


class _Document(FPDF):
    """An A4 document set in Noto Sans with its fallbacks when installed, else in Helvetica.

    Every text printed passes through `normalize_text`, so what Helvetica lacks gets its
    ASCII stand-in in one place, and so does what no Noto font draws.
    """

    def __init__(self, text: str) -> None:
        super().__init__(format="A4")
        self.family = "Helvetica"
        if pdf_fonts.BODY.installed():
            self.family = pdf_fonts.BODY.family
            for style, path in pdf_fonts.BODY.files.items():
                self.add_font(self.family, style, path)
            fallbacks = pdf_fonts.fallbacks_for(pdf_fonts.printable(text))
            for face, code_points in fallbacks:
                for style, path in face.files.items():
                    self.add_font(face.family, style, path, collection_font_number=face.collection_index,
                                  unicode_range=code_points if face.load_used_only else None)
            # A bold heading may borrow a regular fallback (Symbols 2 and the emoji have no bold).
            self.set_fallback_fonts([face.family for face, _ in fallbacks], exact_match=False)

    def normalize_text(self, text: str) -> str:
        """The text as this document's fonts can print it."""
        if self.is_ttf_font:
            return super().normalize_text(pdf_fonts.printable(text))
        return super().normalize_text(text.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1"))

    def use(self, style: str, size: float) -> None:
        """Set the document's family in `style` ("" or "B") at `size` points."""
        self.set_font(self.family, style, size)


# Milestones drawn on the chart, with their short labels.
_CHART_MILESTONES = (("detected", "Detected"), ("acknowledged", "Acknowledged"), ("client_notified", "Client told"),
                     ("mobilized", "Mobilised"), ("mitigated", "Workaround"), ("resolved", "Resolved"))


def chart_points(record: IncidentRecord) -> list[tuple[dt.datetime, str]]:
    """The moments the timeline chart marks (milestones and escalations), in time order."""
    points = [(at, label) for key, label in _CHART_MILESTONES if (at := record.milestones.get(key)) is not None]
    points += [(e["at"], f"To {e['to']}") for e in record.escalations]
    return sorted(points, key=lambda p: p[0])


def _draw_timeline(pdf: _Document, record: IncidentRecord, time_zone: str) -> None:
    # One row per moment: its label on the left, a dot on a shared time axis on the
    # right, so close moments never print over each other.
    points = chart_points(record)[:14]
    if not points:
        return
    start, end = points[0][0], max(p[0] for p in points)
    deadline = next((c.deadline for c in record.clocks if c.clock == "resolution"), None)
    if deadline and deadline > end and deadline - start < (end - start) * 3:
        end = deadline
    total = max((end - start).total_seconds(), 60.0)
    local = zone_or_none(time_zone) or dt.UTC
    label_w, row_h = 58.0, 5.0
    left = pdf.l_margin
    chart_x, chart_w = left + label_w, pdf.epw - label_w - 2
    pdf.use("B", 10)
    pdf.cell(0, 6, "Incident timeline", new_x="LMARGIN", new_y="NEXT")
    top = pdf.get_y() + 1
    bottom = top + row_h * len(points)

    def x_of(at: dt.datetime) -> float:
        return chart_x + chart_w * (at - start).total_seconds() / total

    if record.resolved_at:
        pdf.set_fill_color(225, 235, 250)
        pdf.rect(x_of(points[0][0]), top, max(x_of(record.resolved_at) - x_of(points[0][0]), 0.5), bottom - top,
                 style="F")
    pdf.use("", 8)
    pdf.set_line_width(0.2)
    for index, (at, label) in enumerate(points):
        y = top + row_h * index + row_h / 2
        pdf.set_text_color(0, 0, 0)
        pdf.text(left, y + 1.2, f"{label}  {at.astimezone(local):%d %b %H:%M}")
        pdf.set_draw_color(205, 205, 205)
        pdf.line(chart_x, y, chart_x + chart_w, y)
        pdf.set_fill_color(*((230, 120, 20) if label.startswith("To ") else (30, 90, 180)))
        pdf.circle(x_of(at), y, 1.3, style="F")  # fpdf2 2.8.1+: x, y is the centre
    pdf.set_draw_color(90, 90, 90)
    pdf.line(chart_x, bottom, chart_x + chart_w, bottom)
    pdf.use("", 7)
    pdf.text(chart_x, bottom + 3.5, f"{start.astimezone(local):%d %b %H:%M}")
    pdf.text(chart_x + chart_w - 16, bottom + 3.5, f"{end.astimezone(local):%d %b %H:%M}")
    if deadline and start <= deadline <= end:
        pdf.set_draw_color(200, 40, 40)
        pdf.set_dash_pattern(dash=1, gap=1)
        pdf.line(x_of(deadline), top - 1, x_of(deadline), bottom + 1)
        pdf.set_dash_pattern()
        pdf.set_text_color(200, 40, 40)
        pdf.text(x_of(deadline) + 1, bottom + 3.5, "Resolve target")
        pdf.set_text_color(0, 0, 0)
    pdf.text(left, bottom + 7.5, f"Times in {time_zone}. Detection to resolution: {span(record.duration)}.")
    pdf.set_draw_color(0, 0, 0)
    pdf.set_y(bottom + 10)


def _pdf_title(view: ReportView) -> str:
    return f"{KIND_TITLES[view.kind]}: #{view.record.id} {view.record.title}"


def _earlier_line(earlier: EarlierPostMortem, time_zone: str) -> str:
    return f"#{earlier.incident_id} {earlier.title} (detected {when(earlier.detected_at, time_zone)})"


def _printed_text(view: ReportView, now: dt.datetime, time_zone: str) -> str:
    """Every text `to_pdf` prints that people typed or the record holds: the fonts are chosen from it."""
    # The PDF's own words (headings, "(empty)") are Latin; these are the rest.
    parts = [_pdf_title(view), *_header_lines(view, time_zone), *view.sections.values(),
             *(label for _at, label in chart_points(view.record)),
             *(cell for item in view.postmortem_items for cell in _item_line(item, now, time_zone)),
             *(_earlier_line(e, time_zone) for e in view.record.earlier)]
    return "\n".join(parts)


def to_pdf(view: ReportView, *, now: dt.datetime, time_zone: str = UTC_NAME) -> bytes:
    """The report or post-mortem as a PDF, with the incident's timeline drawn as a chart (times in `time_zone`)."""
    pdf = _Document(_printed_text(view, now, time_zone))
    pdf.set_title(f"{KIND_TITLES[view.kind]} #{view.record.id}")
    pdf.set_creator("Escalation Desk")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.use("B", 15)
    pdf.multi_cell(0, 7, _pdf_title(view), new_x="LMARGIN", new_y="NEXT")
    pdf.use("", 9)
    for line in _header_lines(view, time_zone):
        pdf.multi_cell(0, 4.5, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    _draw_timeline(pdf, view.record, time_zone)
    for section in SECTIONS[view.kind]:
        pdf.ln(2)
        pdf.use("B", 12)
        pdf.cell(0, 7, section.title, new_x="LMARGIN", new_y="NEXT")
        pdf.use("", 9.5)
        pdf.multi_cell(0, 4.8, view.sections.get(section.key, "").strip() or "(empty)",
                       new_x="LMARGIN", new_y="NEXT", align="L")
    if view.kind is ReportKind.POSTMORTEM:
        pdf.ln(2)
        pdf.use("B", 12)
        pdf.cell(0, 7, "Action items", new_x="LMARGIN", new_y="NEXT")
        pdf.use("", 9)
        items = view.postmortem_items
        if items:
            with pdf.table(col_widths=(50, 20, 22, 22), text_align="LEFT") as table:
                table.row(["Action", "Owner", "Due", "State"])
                for item in items:
                    table.row(list(_item_line(item, now, time_zone)))
        else:
            pdf.cell(0, 5, "No action item yet.", new_x="LMARGIN", new_y="NEXT")
    if view.record.earlier:
        pdf.ln(2)
        pdf.use("B", 12)
        pdf.cell(0, 7, "Earlier post-mortems on this account", new_x="LMARGIN", new_y="NEXT")
        pdf.use("", 9)
        for e in view.record.earlier:
            pdf.multi_cell(0, 4.8, _earlier_line(e, time_zone), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


# --------------------------------------------------------------------------
# The client's recovery summary.


def client_zone(record: IncidentRecord) -> str:
    """The zone text for the client is written in: the account's (UTC when it has none that is valid)."""
    return record.account_time_zone if zone_or_none(record.account_time_zone) else UTC_NAME


def _client_time(value: dt.datetime | None, zone: str) -> str:
    if value is None:
        return "not yet"
    local = value.astimezone(zone_or_none(zone) or dt.UTC)
    return f"{local:%A %d %B %Y, %H:%M} {local.tzname()}"


def recovery_summary(record: IncidentRecord, reviews: list[ReviewTaskRow]) -> str:
    """A short plain-text recovery summary for the client: facts, credit, prevention, follow-ups; no internals.

    Its times are in the client's zone (the account's), whoever exports it, and it says so.
    """
    # The incident and account are read through their client-safe values only (core.incident.audience).
    incident, account = record.client.incident, record.client.account
    zone = client_zone(record)
    detected, resolved = incident["detected_at"], incident["resolved_at"]
    lines = [f"Subject: Resolved: {incident['title']} (reference #{incident['id']})", "",
             f"Dear {account['name']} team,", "",
             f"The issue you reported, \"{incident['title']}\", is resolved. Our records show it began on "
             f"{_client_time(detected, zone)} and service was fully restored on "
             f"{_client_time(resolved, zone)}, {span(resolved - detected if resolved else None)} later.",
             "", f"All times in this message are {zone} time."]
    # The contract value only sizes the credit the client's own credit clause gives; it is never printed.
    credit = service_credit(str(account["contract_terms"].get("service_credits", "")), record.annual_contract_value,
                            record.clocks)
    if credit.amount:
        lines += ["", f"Under your agreement, a service credit of ${credit.amount:,.2f} will be applied to your "
                      "account."]
    # Only the measures themselves: who owns them and when they are due stays with us.
    measures = [i.title for i in record.action_items if i.source == POSTMORTEM_SOURCE]
    if measures:
        lines += ["", "What we are doing so that it does not happen again:"]
        lines += [f"- {title}" for title in measures]
    upcoming = [r for r in reviews if r.done_at is None]
    if upcoming:
        lines += ["", "We will check in with you on:"]
        lines += [f"- {_client_time(r.due_at, zone)}" for r in upcoming]
    lines += ["", "Thank you for your patience. If anything still looks wrong, reply to this message and quote "
                  f"reference #{incident['id']}.", ""]
    return "\n".join(lines)
