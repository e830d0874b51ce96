"""Email: build a message (text + HTML alternative), check its headers, save it as .eml.

`build_email` refuses anything that could go wrong later: a malformed
address, a line break or control character in a header, encoded-word
syntax (`=?...?=`) in an address, display name or attachment name, no
recipient, no subject, no body. A subject holding `=?` or non-ASCII text is
encoded here rather than by the email library, because CPython before
3.11.10 decodes such words when a header is set and writes a decoded CR/LF
out as a real header line (CVE-2024-6923). Whatever the interpreter, every
serialized message (.eml or SMTP) is read back before it leaves: its header
block must hold exactly the headers the message was given, once each, with
the same addresses and subject, and SMTP recipients are taken from those
read-back addresses; otherwise nothing is sent or saved. Delivery is
core.communication.smtp. Every failure is a `MailError` whose message tells
a CSM what to fix. This module never imports streamlit, never opens a
network connection and never stores anything.
"""

from __future__ import annotations

import datetime as dt
import email
import email.errors
import email.policy
import email.utils
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage

MAX_ATTACHMENTS_BYTES = 10 * 1024 * 1024
MAX_SUBJECT_CHARS = 300
# A practical address check (RFC 5321 allows more, mail servers accept less).
_ADDR_SPEC = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_MIME_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}")  # RFC 6838 restricted-name
_NAMED = re.compile(r'^(?P<name>[^<>]*)<(?P<addr>[^<>]+)>$')
# Cc: C0/C1 controls and DEL; Zl/Zp: Unicode line and paragraph separators (str.splitlines and some mail
# readers break lines on them); Cs: lone surrogates, which no charset can encode.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs"})
_CHARACTER_NAMES = {
    "\r": "a carriage return (CR)",
    "\n": "a line feed (LF)",
    "\x00": "a NUL character",
    "\t": "a tab",
    "\x0b": "a vertical tab",
    "\x0c": "a form feed",
    "\x85": "a next-line character (U+0085)",
    "\u2028": "a line separator (U+2028)",
    "\u2029": "a paragraph separator (U+2029)",
}
# Alert emails (core.alerts.channels) carry their outbox dedupe key so a mail filter can drop a repeat.
DEDUPE_HEADER = "X-Escalation-Desk-Dedupe-Key"
# RFC 2369 / RFC 8058: a status page update names its one-click unsubscribe link (core.statuspage.subscriptions).
LIST_UNSUBSCRIBE = "List-Unsubscribe"
LIST_UNSUBSCRIBE_POST = "List-Unsubscribe-Post"
_ONE_CLICK = "List-Unsubscribe=One-Click"
_UNSUBSCRIBE_URL = re.compile(r"^https?://[!#-;=?-~]+$")  # printable ASCII without space, '<', '>' or '"'
# Every header build_email sets (Bcc only when a caller adds it; send strips it). The serialized header
# block must hold exactly the message's own headers, each once, all of them from this list.
OWN_HEADERS = ("From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Date", "Message-ID", "MIME-Version",
               "Content-Type", "Content-Transfer-Encoding", DEDUPE_HEADER, LIST_UNSUBSCRIBE, LIST_UNSUBSCRIBE_POST)
_PART_HEADERS = frozenset({"content-type", "content-transfer-encoding", "content-disposition", "mime-version"})
_ADDRESS_HEADERS = ("From", "To", "Cc", "Bcc", "Reply-To")
_FIELD_NAME = re.compile(rb"([!-9;-~]+):")
_MAX_LINE = 998  # RFC 5321: servers may cut longer lines, and a cut line becomes a header line of its own


class MailError(Exception):
    """An email could not be built or sent; the message says what to check."""


class AddressError(MailError):
    """An email address is malformed."""


class HeaderInjectionError(MailError):
    """A header value holds a line break, a control character or encoded-word syntax, or the headers came out wrong."""


@dataclass(frozen=True)
class Attachment:
    """A file to attach: name, bytes and MIME type ('application/pdf')."""

    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


def check_header_text(value: str, what: str) -> None:
    """HeaderInjectionError naming the character when `value` holds a line break or another control character."""
    for ch in value:
        category = unicodedata.category(ch)
        if category in _UNSAFE_CATEGORIES:
            name = _CHARACTER_NAMES.get(ch) or (f"an invalid character (U+{ord(ch):04X})" if category == "Cs"
                                                else f"an invisible control character (U+{ord(ch):04X})")
            raise HeaderInjectionError(
                f"{what} contains {name}; no line break or other control character may go into an email "
                "header: remove it and try again.")


def _no_encoded_words(value: str, what: str) -> None:
    # Encoded words have no business in an address or a display name typed into a form, and the library
    # decodes them even inside quotes: refusing is simpler and safer than re-encoding every name.
    if "=?" in value:
        raise HeaderInjectionError(
            f"{what} contains '=?', the start of an encoded word (=?charset?q?text?=), which mail programs "
            "decode into other text and even into extra header lines: remove it and try again.")


def parse_address(value: str, *, what: str = "an address") -> Address:
    """'Ana Martin <ana@acme.example>' or 'ana@acme.example' as an Address; AddressError otherwise."""
    if not isinstance(value, str):
        raise AddressError(f"{what} must be text, got {type(value).__name__}")
    check_header_text(value, f"{what} {value!r}")
    _no_encoded_words(value, f"{what} {value!r}")
    text = value.strip()
    if not text:
        raise AddressError(f"{what} is empty")
    named = _NAMED.match(text)
    name, addr = (named.group("name").strip().strip('"').strip(), named.group("addr").strip()) if named else ("", text)
    if not _ADDR_SPEC.match(addr):
        raise AddressError(f"{what} {value!r} is not a valid email address (expected name@example.com "
                           "or Name <name@example.com>, one address per entry)")
    local, domain = addr.rsplit("@", 1)
    try:
        return Address(display_name=name, username=local, domain=domain)
    except ValueError as exc:  # the library's own line-break check, should anything slip past the ones above
        raise HeaderInjectionError(f"{what} {value!r} cannot go into an email header ({exc}).") from None


def _addresses(values: Sequence[str], what: str) -> list[Address]:
    if isinstance(values, str):
        values = [values]
    return [parse_address(value, what=what) for value in values]


def build_email(
    *,
    sender: str,
    recipients: Sequence[str],
    cc: Sequence[str] = (),
    subject: str,
    text: str,
    html: str = "",
    reply_to: str | None = None,
    attachments: Sequence[Attachment] = (),
    date: dt.datetime | None = None,
) -> EmailMessage:
    """A ready-to-send message: text part, HTML alternative when given, attachments; checked headers."""
    from_addr = parse_address(sender, what="the sender address")
    to_addrs = _addresses(recipients, "the recipient")
    cc_addrs = _addresses(cc, "the Cc address")
    reply_addr = parse_address(reply_to, what="the reply-to address") if reply_to else None
    if not to_addrs:
        raise MailError("Add at least one recipient before sending.")
    check_header_text(subject, "The subject")
    if not subject.strip():
        raise MailError("The subject is empty; every client email needs one.")
    if len(subject) > MAX_SUBJECT_CHARS:
        raise MailError(f"The subject is {len(subject)} characters long; keep it under {MAX_SUBJECT_CHARS}.")
    if not text.strip():
        raise MailError("The message text is empty.")
    total = sum(len(a.content) for a in attachments)
    if total > MAX_ATTACHMENTS_BYTES:
        raise MailError(f"The attachments add up to {total / 1e6:.1f} MB; the limit is "
                        f"{MAX_ATTACHMENTS_BYTES / 1e6:.0f} MB.")
    for attachment in attachments:
        check_header_text(attachment.filename, f"The attachment name {attachment.filename!r}")
        _no_encoded_words(attachment.filename, f"The attachment name {attachment.filename!r}")
        maintype, _, subtype = attachment.mime_type.partition("/")
        if not _MIME_NAME.fullmatch(maintype) or not _MIME_NAME.fullmatch(subtype):
            raise MailError(f"The attachment type {attachment.mime_type!r} is not a MIME type like application/pdf.")
    try:
        return _assemble(from_addr, to_addrs, cc_addrs, reply_addr, subject.strip(), text, html, attachments, date)
    except ValueError as exc:
        # The checks above leave the library nothing to refuse; if it still does, the person gets a reason.
        raise HeaderInjectionError(f"The email library refused a header ({exc}): remove unusual characters "
                                   "from the subject, names and addresses and try again.") from None


def _assemble(from_addr: Address, to_addrs: list[Address], cc_addrs: list[Address], reply_addr: Address | None,
              subject: str, text: str, html: str, attachments: Sequence[Attachment],
              date: dt.datetime | None) -> EmailMessage:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = from_addr
    message["To"] = to_addrs
    if cc_addrs:
        message["Cc"] = cc_addrs
    if reply_addr is not None:
        message["Reply-To"] = reply_addr
    _set_subject(message, subject)
    message["Date"] = email.utils.format_datetime(date or dt.datetime.now(dt.UTC))
    message["Message-ID"] = email.utils.make_msgid(domain=from_addr.domain)
    # Quoted-printable keeps every line short and 7-bit: safe for any server, even without 8BITMIME.
    message.set_content(text, cte="quoted-printable")
    if html.strip():
        message.add_alternative(html, subtype="html", cte="quoted-printable")
    for attachment in attachments:
        maintype, _, subtype = attachment.mime_type.partition("/")
        message.add_attachment(attachment.content, maintype=maintype, subtype=subtype,
                               filename=attachment.filename)
    return message


def _set_subject(message: EmailMessage, subject: str) -> None:
    if subject.isascii() and "=?" not in subject:
        message["Subject"] = subject  # plain text stays readable (and is not "encoded unnecessarily" to filters)
        return
    # A subject built from an incident title may hold '=?' for real, and refusing it would block an
    # emergency message. Set as text, the library would decode it (and before 3.11.10 write a decoded
    # CR/LF out raw); encoded here, in UTF-8 and pre-folded, it is stored as is and the client's mail
    # program shows the literal text. Non-ASCII subjects come this way too: the library's folder drops
    # the space between adjacent encoded words (1 subject in 6 in a random test), this encoder does not.
    message.set_raw("Subject", Header(subject, "utf-8", header_name="Subject").encode())


def set_list_unsubscribe(message: EmailMessage, url: str) -> None:
    """Add RFC 8058 one-click unsubscribe headers for `url` (an http(s) link); HeaderInjectionError otherwise."""
    if not _UNSUBSCRIBE_URL.fullmatch(url) or "=?" in url or len(url) > 900:
        raise HeaderInjectionError("The unsubscribe link is not a plain http(s) address, so it cannot go into "
                                   "the List-Unsubscribe header.")
    message[LIST_UNSUBSCRIBE] = _UnfoldedHeader(LIST_UNSUBSCRIBE, f"<{url}>")
    message[LIST_UNSUBSCRIBE_POST] = _UnfoldedHeader(LIST_UNSUBSCRIBE_POST, _ONE_CLICK)


class _UnfoldedHeader(str):
    """A header value written out exactly as given, on one line (checked ASCII without spaces by the caller).

    The library folds a long link it cannot break into encoded words (=?utf-8?q?...?=), which mail
    programs do not follow as a link; a value with a `name` is folded by itself instead.
    """

    name: str

    def __new__(cls, name: str, value: str) -> _UnfoldedHeader:
        made = super().__new__(cls, value)
        made.name = name
        return made

    def fold(self, *, policy: email.policy.Policy) -> str:
        """The header line as given, ended by the policy's line separator."""
        return f"{self.name}: {self}{policy.linesep}"


def to_eml_bytes(message: EmailMessage) -> bytes:
    """The message as an RFC 5322 .eml file (CRLF line endings), once its header block checks out."""
    return checked_bytes(message)[0]


def checked_bytes(message: EmailMessage) -> tuple[bytes, dict[str, list[str]]]:
    """The message serialized for SMTP and the addresses its header block shows, per header.

    The bytes are read back, not trusted: the header block must hold exactly
    the message's own headers (all from OWN_HEADERS), once each, in well-formed
    CRLF lines; each MIME part only content headers; the subject and every
    address header must read back as the message holds them. Otherwise
    HeaderInjectionError, and the caller must send or save nothing.
    """
    names = list(message.keys())
    own = {name.lower() for name in OWN_HEADERS}
    odd = sorted({n for n in names if n.lower() not in own or [m.lower() for m in names].count(n.lower()) > 1})
    if odd:
        raise _came_out_wrong(f"it holds {', '.join(odd)}, which this app does not set, or sets only once")
    try:
        raw = message.as_bytes(policy=email.policy.SMTP)
    except (ValueError, email.errors.MessageError) as exc:  # Python 3.11.10+ refuses such headers itself
        raise _came_out_wrong(f"the email library refused a header: {exc}") from None
    head, blank, _ = raw.partition(b"\r\n\r\n")
    if not blank:
        raise _came_out_wrong("no empty line ends the header block")
    found = _header_names(head)
    if sorted(n.lower() for n in found) != sorted(n.lower() for n in names):
        raise _came_out_wrong(f"the header lines are {', '.join(found)} instead of {', '.join(names)}")
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    _check_parts(message, parsed)
    if message.get("Subject") is not None and _squash(parsed["Subject"]) != _squash(message["Subject"]):
        raise _came_out_wrong("the subject reads back differently")
    for name in (LIST_UNSUBSCRIBE, LIST_UNSUBSCRIBE_POST):
        if message.get(name) is not None and str(parsed[name]).strip() != str(message[name]).strip():
            raise _came_out_wrong(f"the {name} header reads back differently")
    as_written = email.message_from_bytes(head + b"\r\n\r\n", policy=email.policy.compat32)
    shown: dict[str, list[str]] = {}
    for name in _ADDRESS_HEADERS:
        if message.get(name) is None:
            continue
        meant = [a.addr_spec for a in message[name].addresses]
        read = [a.addr_spec for a in parsed[name].addresses]
        # A second, older parser on the raw text: a reader that splits the list differently sees other people.
        plain = [addr for _, addr in email.utils.getaddresses(as_written.get_all(name, []))]
        if not meant == read == plain:
            raise _came_out_wrong(f"the {name} header reads as {', '.join(read or plain) or 'nobody'} instead of "
                                  f"{', '.join(meant)}")
        shown[name] = read
    return raw, shown


def _came_out_wrong(detail: str) -> HeaderInjectionError:
    return HeaderInjectionError(
        f"The email did not come out as it was built ({detail}), so it was not sent or saved. A subject, name "
        "or address probably holds text that mail programs would read as extra header lines: remove unusual "
        "characters and any '=?' from them and try again.")


def _header_names(head: bytes) -> list[str]:
    names: list[str] = []
    for number, line in enumerate(head.split(b"\r\n"), 1):
        # Only CRLF ends a line here: a lone CR or LF left inside a line is a break some reader would honour.
        bad = next((byte for byte in line if (byte < 0x20 and byte != 0x09) or byte > 0x7E), None)
        if bad is not None:
            raise _came_out_wrong(f"header line {number} holds the byte 0x{bad:02X}")
        if len(line) > _MAX_LINE:
            raise _came_out_wrong(f"header line {number} is {len(line)} characters long; the limit is {_MAX_LINE}")
        if line[:1] in (b" ", b"\t"):
            # A blank continuation ends the header block for some readers; the rest would become the body.
            if not names or not line.strip():
                raise _came_out_wrong(f"header line {number} is a stray continuation line")
            continue
        field_name = _FIELD_NAME.match(line)
        if field_name is None:
            raise _came_out_wrong(f"header line {number} is not a 'Name: value' line")
        names.append(field_name.group(1).decode("ascii"))
    return names


def _check_parts(message: EmailMessage, parsed: EmailMessage) -> None:
    built, read = list(message.walk()), list(parsed.walk())
    if len(built) != len(read):
        raise _came_out_wrong(f"it reads back as {len(read)} MIME parts instead of {len(built)}")
    for part in read[1:]:
        keys = [key.lower() for key in part]  # a message iterates over its header names
        if not set(keys) <= _PART_HEADERS or len(set(keys)) != len(keys):
            raise _came_out_wrong(f"a MIME part has the headers {', '.join(part.keys())}")


def _squash(value: object) -> str:
    # The library's folder may add or drop a space around the words it encodes: compare the text only.
    return "".join(str(value).split())
