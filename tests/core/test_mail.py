"""Email: building, .eml export, header-injection refusal and delivery against a real SMTP server.

The SMTP tests run aiosmtpd on 127.0.0.1 (a free port per test module). Its
handler refuses any recipient whose address starts with "refuse" with 550,
and optionally requires a login (user "csm", password "right").
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import re
import socket
import threading
import time

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from core.communication import mail
from core.communication.context import sample_context
from core.communication.mail import AddressError, Attachment, HeaderInjectionError, MailError, build_email, to_eml_bytes
from core.communication.render import render
from core.communication.smtp import (
    AuthenticationRefused,
    RecipientRefused,
    SendTimeout,
    ServerUnreachable,
    SmtpSettings,
    TlsError,
    envelope_recipients,
    send,
)

DATE = dt.datetime(2026, 3, 2, 9, 40, tzinfo=dt.UTC)
# The auth test server is on loopback only; aiosmtpd warns about AUTH without TLS.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


def _message(**changes):
    fields = dict(
        sender="Sam Lee <sam.lee@example.com>",
        recipients=["Ana Martin <ana@acme.example>"],
        cc=["it@acme.example"],
        subject="Urgent: Order exports failing - our team is working on it [INC-1042]",
        text="Hello Ana,\n\nWe are working on it. Café déjà vu.\n",
        html="<p>Hello Ana,</p><p>We are working on it. Caf&eacute;</p>",
        reply_to="support@example.com",
        date=DATE,
    )
    fields.update(changes)
    return build_email(**fields)


# --------------------------------------------------------------------------
# Building and .eml


def test_eml_round_trip_is_multipart_alternative_with_correct_headers():
    raw = to_eml_bytes(_message())
    assert b"\r\n" in raw and all(len(line) <= 998 for line in raw.split(b"\r\n"))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed["From"] == "Sam Lee <sam.lee@example.com>"
    assert parsed["To"] == "Ana Martin <ana@acme.example>"
    assert parsed["Cc"] == "it@acme.example"
    assert parsed["Reply-To"] == "support@example.com"
    assert parsed["Subject"] == "Urgent: Order exports failing - our team is working on it [INC-1042]"
    assert email.utils.parsedate_to_datetime(parsed["Date"]) == DATE
    assert parsed["Message-ID"].startswith("<") and parsed["Message-ID"].endswith("@example.com>")
    plain = parsed.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert plain == "Hello Ana,\n\nWe are working on it. Café déjà vu.\n"
    assert "Caf&eacute;" in parsed.get_body(("html",)).get_content()


def test_non_ascii_subject_and_names_survive_the_round_trip():
    raw = to_eml_bytes(_message(subject="Résolu : export des commandes",
                                recipients=['"Martin, Ána" <ana@acme.example>']))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == "Résolu : export des commandes"
    assert parsed["To"].addresses[0].display_name == "Martin, Ána"
    assert parsed["To"].addresses[0].addr_spec == "ana@acme.example"
    assert raw.isascii()


def test_a_rendered_catalog_message_makes_a_valid_email():
    rendered = render("emergency_acknowledgement", sample_context())
    raw = to_eml_bytes(_message(subject=rendered.subject, text=rendered.text, html=rendered.html))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == rendered.subject
    assert parsed.get_body(("html",)).get_content().replace("\r\n", "\n") == rendered.html
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == rendered.text


def test_text_only_message_is_plain():
    parsed = email.message_from_bytes(to_eml_bytes(_message(html="")), policy=email.policy.default)
    assert parsed.get_content_type() == "text/plain"


def test_attachments_wrap_the_alternative_in_mixed():
    message = _message(attachments=[Attachment("timeline.csv", b"time,event\n09:12,detected\n", "text/csv")])
    parsed = email.message_from_bytes(to_eml_bytes(message), policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/mixed"
    assert [p.get_content_type() for p in parsed.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "text/csv"]
    attachment = next(parsed.iter_attachments())
    assert attachment.get_filename() == "timeline.csv"
    assert attachment.get_content() == "time,event\n09:12,detected\n"


@pytest.mark.parametrize(
    "changes",
    [
        {"subject": "Hello\r\nBcc: victim@evil.example"},
        {"subject": "Hello\nX-Injected: 1"},
        {"subject": "Hello\rthere"},
        {"recipients": ["ana@acme.example\r\nBcc: victim@evil.example"]},
        {"recipients": ["Ana\n <ana@acme.example>"]},
        {"cc": ["it@acme.example\nBcc: x@evil.example"]},
        {"sender": "sam@example.com\r\nBcc: x@evil.example"},
        {"reply_to": "support@example.com\nBcc: x@evil.example"},
        {"attachments": [Attachment("a.txt\r\nX-Evil: 1", b"x", "text/plain")]},
    ],
)
def test_header_injection_is_refused(changes):
    with pytest.raises(HeaderInjectionError, match="line break"):
        _message(**changes)


@pytest.mark.parametrize(
    "changes, named",
    [
        ({"recipients": ["ana@acme"]}, "ana@acme"),
        ({"recipients": ["ana.acme.example"]}, "ana.acme.example"),
        ({"recipients": ["ana@acme.example, bob@acme.example"]}, "ana@acme.example, bob@acme.example"),
        ({"recipients": ["Ana <ana@acme.example> extra"]}, "Ana <ana@acme.example> extra"),
        ({"cc": ["it at acme"]}, "it at acme"),
        ({"sender": "sam@"}, "sam@"),
        ({"reply_to": "@example.com"}, "@example.com"),
        ({"recipients": [""]}, "is empty"),
    ],
)
def test_bad_addresses_are_refused_by_name(changes, named):
    with pytest.raises(AddressError) as caught:
        _message(**changes)
    assert named in str(caught.value)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"recipients": []}, "Add at least one recipient"),
        ({"subject": "   "}, "The subject is empty"),
        ({"text": "\n "}, "The message text is empty"),
        ({"subject": "x" * 301}, "keep it under 300"),
        ({"attachments": [Attachment("big.bin", b"0" * (11 * 1024 * 1024))]}, "the limit is 10 MB"),
        ({"attachments": [Attachment("a.bin", b"0", "pdf")]}, "not a MIME type"),
    ],
)
def test_incomplete_messages_are_refused(changes, message):
    with pytest.raises(MailError, match=message):
        _message(**changes)


def test_settings_never_hold_a_password_and_are_validated():
    settings = SmtpSettings(host="smtp.example.com", from_address="desk@example.com")
    assert (settings.port, settings.starttls, settings.timeout) == (587, True, 20.0)
    assert "password" not in SmtpSettings.model_fields
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        SmtpSettings(host="smtp.example.com", from_address="desk@example.com", password="secret")
    with pytest.raises(ValueError, match="not a valid email address"):
        SmtpSettings(host="smtp.example.com", from_address="desk")
    with pytest.raises(ValueError):
        SmtpSettings(host="smtp.example.com\r\nX", from_address="desk@example.com")
    with pytest.raises(ValueError):
        SmtpSettings(host="smtp.example.com", port=0, from_address="desk@example.com")


# --------------------------------------------------------------------------
# Delivery against aiosmtpd


class CollectingHandler:
    """Keeps every accepted message; refuses recipients whose address starts with 'refuse'."""

    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refuse"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 Ok: queued as TEST1"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"csm", b"right")
    return AuthResult(success=ok, handled=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def smtp_server():
    handler = CollectingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, handler
    controller.stop()


@pytest.fixture(scope="module")
def auth_server():
    handler = CollectingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port(), authenticator=_authenticator,
                            auth_require_tls=False, auth_required=True)
    controller.start()
    yield controller, handler
    controller.stop()


def _settings(controller, **changes) -> SmtpSettings:
    values = dict(host="127.0.0.1", port=controller.port, starttls=False, from_address="desk@example.com",
                  timeout=5)
    values.update(changes)
    return SmtpSettings(**values)


def test_send_delivers_and_reports_every_accepted_recipient(smtp_server):
    controller, handler = smtp_server
    handler.messages.clear()
    receipt = send(_message(), _settings(controller))
    assert receipt.accepted == ("ana@acme.example", "it@acme.example")
    assert receipt.refused == {} and receipt.complete
    assert receipt.server_reply.startswith("250")
    [(mail_from, rcpt_tos, raw)] = handler.messages
    assert (mail_from, rcpt_tos) == ("desk@example.com", ["ana@acme.example", "it@acme.example"])
    received = email.message_from_bytes(raw, policy=email.policy.default)
    assert received["Subject"] == "Urgent: Order exports failing - our team is working on it [INC-1042]"
    plain = received.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert plain == "Hello Ana,\n\nWe are working on it. Café déjà vu.\n"
    assert received.get_content_type() == "multipart/alternative"


def test_bcc_recipients_get_the_message_but_not_the_header(smtp_server):
    controller, handler = smtp_server
    handler.messages.clear()
    message = _message()
    message["Bcc"] = "lead@example.com"
    assert envelope_recipients(message) == ["ana@acme.example", "it@acme.example", "lead@example.com"]
    send(message, _settings(controller))
    [(_, rcpt_tos, raw)] = handler.messages
    assert "lead@example.com" in rcpt_tos
    assert b"lead@example.com" not in raw


def test_a_refused_recipient_stops_the_whole_send(smtp_server):
    controller, handler = smtp_server
    handler.messages.clear()
    message = _message(cc=["refuse-me@acme.example"])
    with pytest.raises(RecipientRefused) as caught:
        send(message, _settings(controller))
    assert "refuse-me@acme.example" in str(caught.value)
    assert "550" in str(caught.value) and "Nothing was sent to anyone" in str(caught.value)
    assert list(caught.value.refused) == ["refuse-me@acme.example"]
    assert handler.messages == []  # nothing went out, not even to the accepted address


def test_partial_sending_reports_the_refused_recipient(smtp_server):
    controller, handler = smtp_server
    handler.messages.clear()
    receipt = send(_message(cc=["refuse-me@acme.example"]), _settings(controller), allow_partial=True)
    assert receipt.accepted == ("ana@acme.example",)
    assert list(receipt.refused) == ["refuse-me@acme.example"]
    assert receipt.refused["refuse-me@acme.example"].startswith("550")
    assert not receipt.complete
    [(_, rcpt_tos, _)] = handler.messages
    assert rcpt_tos == ["ana@acme.example"]


def test_partial_sending_with_every_recipient_refused_is_an_error(smtp_server):
    controller, handler = smtp_server
    handler.messages.clear()
    with pytest.raises(RecipientRefused, match=r"refuse-a@acme\.example"):
        send(_message(recipients=["refuse-a@acme.example"], cc=[]), _settings(controller), allow_partial=True)
    assert handler.messages == []


def test_server_down_is_reported_with_host_and_port():
    port = _free_port()  # bound then released: nothing listens there
    settings = SmtpSettings(host="127.0.0.1", port=port, starttls=False, from_address="desk@example.com", timeout=2)
    with pytest.raises(ServerUnreachable) as caught:
        send(_message(), settings)
    text = str(caught.value)
    assert "Could not reach the email server" in text and f"127.0.0.1:{port}" in text
    assert "Nothing was sent" in text and "Check the host and port" in text


def test_a_silent_server_times_out():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the TCP connection, never says hello
    try:
        settings = SmtpSettings(host="127.0.0.1", port=listener.getsockname()[1], starttls=False,
                                from_address="desk@example.com", timeout=0.5)
        started = time.monotonic()
        with pytest.raises(SendTimeout, match=r"did not answer within 0\.5 s"):
            send(_message(), settings)
        assert time.monotonic() - started < 3
    finally:
        listener.close()


def test_starttls_required_but_not_offered(smtp_server):
    controller, handler = smtp_server
    handler.messages.clear()
    with pytest.raises(TlsError, match="does not offer STARTTLS"):
        send(_message(), _settings(controller, starttls=True))
    assert handler.messages == []


def test_login_with_the_right_password(auth_server):
    controller, handler = auth_server
    handler.messages.clear()
    receipt = send(_message(), _settings(controller, username="csm"), password="right")
    assert receipt.complete and len(handler.messages) == 1


def test_authentication_refused(auth_server):
    controller, handler = auth_server
    handler.messages.clear()
    with pytest.raises(AuthenticationRefused) as caught:
        send(_message(), _settings(controller, username="csm"), password="wrong")
    assert "refused the login for 'csm'" in str(caught.value) and "535" in str(caught.value)
    assert "wrong" not in str(caught.value)  # the password never appears in an error
    assert handler.messages == []


def test_a_password_is_never_sent_unencrypted_to_a_remote_server():
    settings = SmtpSettings(host="smtp.example.com", port=25, starttls=False, username="csm",
                            from_address="desk@example.com")
    with pytest.raises(TlsError, match="without encryption"):
        send(_message(), settings, password="secret")


def test_concurrent_sends_each_get_their_own_connection(smtp_server):
    controller, handler = smtp_server
    handler.messages.clear()
    errors: list[Exception] = []

    def worker(i: int) -> None:
        try:
            send(_message(subject=f"Update {i}"), _settings(controller))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(handler.messages) == 5


# --------------------------------------------------------------------------
# Header injection: every variant, on the .eml bytes and through a real SMTP server.
#
# CPython before 3.11.10 decodes an encoded word when a header is set and writes a decoded CR/LF out raw
# (CVE-2024-6923). Each variant must end either refused with a clear reason, or delivered with exactly the
# headers the message was built with and only the intended recipients; a subject is then read literally.


def _b(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


BCC = "Bcc: x@evil.example"
INJECTIONS = [
    # Subjects holding encoded words are encoded by the app: delivered, and read literally (None).
    pytest.param({"subject": "=?utf-8?q?Update=0D=0AReply-To:_attacker@evil.example?="}, None, id="subject-q-crlf"),
    pytest.param({"subject": _b(f"Update\r\n{BCC}")}, None, id="subject-b-crlf"),
    pytest.param({"subject": _b(f"Update\r\n{BCC}").replace("utf-8?b", "UTF-8?B")}, None, id="subject-B-upper"),
    pytest.param({"subject": "=?UTF-8?Q?Update=0ABcc:_x@evil.example?="}, None, id="subject-Q-lf"),
    pytest.param({"subject": "=?iso-8859-1?q?Update=0DBcc:_x@evil.example?="}, None, id="subject-latin1-cr"),
    pytest.param({"subject": "=?utf-8*en?q?Update=0D=0ABcc:_x@evil.example?="}, None, id="subject-language-tag"),
    pytest.param({"subject": "Exports failing =?utf-8?q?=0D=0ABcc:_x@evil.example?= [INC-1042]"}, None,
                 id="subject-word-mid-text"),
    pytest.param({"subject": "=?utf-8?q?Update=0D?= =?utf-8?q?=0ABcc:_x@evil.example?="}, None,
                 id="subject-cr-lf-split"),
    pytest.param({"subject": "x" * 66 + " =?utf-8?q?a=0D=0ABcc:_x@evil.example?="}, None, id="subject-word-at-fold"),
    pytest.param({"subject": "=?utf-8?q?Update=0D=0A=09Bcc:_x@evil.example?="}, None, id="subject-encoded-fold"),
    pytest.param({"subject": "Update =?utf-8?q?Bcc?=: x@evil.example"}, None, id="subject-encoded-name"),
    # Raw control characters and line separators are refused, naming the character.
    pytest.param({"subject": f"Update\r{BCC}"}, "carriage return (CR)", id="subject-cr"),
    pytest.param({"subject": f"Update\n{BCC}"}, "line feed (LF)", id="subject-lf"),
    pytest.param({"subject": f"Update\r\n{BCC}"}, "carriage return (CR)", id="subject-crlf"),
    pytest.param({"subject": f"Update\r\n\t{BCC}"}, "carriage return (CR)", id="subject-crlf-tab-fold"),
    pytest.param({"subject": f"Update\n {BCC}"}, "line feed (LF)", id="subject-lf-space-fold"),
    pytest.param({"subject": f"Update\x00{BCC}"}, "NUL character", id="subject-nul"),
    pytest.param({"subject": f"Update\u2028{BCC}"}, "line separator (U+2028)", id="subject-u2028"),
    pytest.param({"subject": f"Update\u2029{BCC}"}, "paragraph separator (U+2029)", id="subject-u2029"),
    pytest.param({"subject": f"Update\x85{BCC}"}, "next-line character (U+0085)", id="subject-u0085"),
    pytest.param({"subject": f"Update\x0b{BCC}"}, "vertical tab", id="subject-vt"),
    pytest.param({"subject": f"Update\x0c{BCC}"}, "form feed", id="subject-ff"),
    pytest.param({"subject": f"Update\x1c{BCC}"}, "control character (U+001C)", id="subject-file-separator"),
    # Encoded words in any address entry are refused.
    pytest.param({"recipients": ["=?utf-8?q?Ana=0D=0ABcc:_x@evil.example?= <ana@acme.example>"]}, "'=?'",
                 id="to-encoded-name"),
    pytest.param({"recipients": ['"=?utf-8?q?Ana=0D=0ABcc:_x@evil.example?=" <ana@acme.example>']}, "'=?'",
                 id="to-quoted-encoded-name"),
    pytest.param({"recipients": ["=?utf-8?q?x=22_=3Cx@evil.example=3E,_=22?= <ana@acme.example>"]}, "'=?'",
                 id="to-name-smuggling-an-address"),
    pytest.param({"recipients": ["=?utf-8?q?x=0D=0A?=@acme.example"]}, "'=?'", id="to-encoded-local-part"),
    pytest.param({"cc": [_b(f"IT\r\n{BCC}") + " <it@acme.example>"]}, "'=?'", id="cc-b-encoded-name"),
    pytest.param({"sender": "=?utf-8?q?Sam=0D=0ABcc:_x@evil.example?= <sam.lee@example.com>"}, "'=?'",
                 id="from-encoded-name"),
    pytest.param({"reply_to": "=?utf-8?q?Desk=0D=0ABcc:_x@evil.example?= <support@example.com>"}, "'=?'",
                 id="reply-to-encoded-name"),
    pytest.param({"attachments": [Attachment("=?utf-8?q?a=0D=0AX-Evil:_1?=.txt", b"x", "text/plain")]}, "'=?'",
                 id="attachment-encoded-name"),
    # Raw breaks in addresses and names are refused; a list squeezed into one entry is not an address.
    pytest.param({"recipients": [f"Ana\n{BCC} <ana@acme.example>"]}, "line feed (LF)", id="to-lf-in-name"),
    pytest.param({"recipients": [f"Ana\u2028{BCC} <ana@acme.example>"]}, "U+2028", id="to-u2028-in-name"),
    pytest.param({"cc": [f"it@acme.example\x85{BCC}"]}, "U+0085", id="cc-u0085"),
    pytest.param({"reply_to": f"support@example.com\x0b{BCC}"}, "vertical tab", id="reply-to-vt"),
    pytest.param({"sender": f"sam.lee@example.com\x00{BCC}"}, "NUL character", id="from-nul"),
    pytest.param({"recipients": ["ana@acme.example, x@evil.example"]}, "not a valid email address",
                 id="to-two-addresses-in-one-entry"),
    # Commas and header-like text inside a display name stay inside it: one recipient, no extra header.
    pytest.param({"recipients": ['"Martin, Ana" <ana@acme.example>']}, None, id="to-comma-in-quoted-name"),
    pytest.param({"recipients": ["x@evil.example, Ana <ana@acme.example>"]}, None, id="to-list-text-as-name"),
    pytest.param({"recipients": [f"Ana {BCC} <ana@acme.example>"]}, None, id="to-header-text-as-name"),
]
# Built without a Reply-To: a Reply-To line in the output can only be injected.
BUILT_HEADERS = ["cc", "content-type", "date", "from", "message-id", "mime-version", "subject", "to"]
RECIPIENTS = ["ana@acme.example", "it@acme.example"]


def _read_header_names(raw: bytes) -> list[str]:
    """Header names as the most lenient reader sees them: a CR, an LF or a CRLF each ends a line."""
    head = raw.partition(b"\r\n\r\n")[0]
    assert head.isascii() and not re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", head.replace(b"\r\n", b""))
    names = []
    for line in re.split(rb"\r\n|\r|\n", raw):
        if not line.strip():
            break
        if line[:1] not in (b" ", b"\t"):
            names.append(line.partition(b":")[0].decode("ascii").lower())
    return names


def _assert_clean(raw: bytes, changes: dict, literal: bool) -> None:
    assert sorted(_read_header_names(raw)) == BUILT_HEADERS
    received = email.message_from_bytes(raw, policy=email.policy.default)
    assert [a.addr_spec for h in ("To", "Cc") for a in received[h].addresses] == RECIPIENTS
    if literal and "subject" in changes:
        assert received["Subject"] == changes["subject"].strip(), "the recipient reads the subject literally"


def _attempt(changes: dict, refused_with: str | None, controller, handler, *, literal: bool = True) -> str:
    """Build, download and send one variant; 'refused' or 'clean', or an assertion naming what got through."""
    handler.messages.clear()
    try:
        message = _message(**{"reply_to": None, **changes})
        eml = to_eml_bytes(message)
        receipt = send(message, _settings(controller))
    except MailError as refusal:
        assert handler.messages == [], "a refused message reached the server"
        if refused_with is not None:
            assert refused_with in str(refusal)
        return "refused"
    assert refused_with is None, f"expected a refusal naming {refused_with!r}"
    _assert_clean(eml, changes, literal)
    [(_, rcpt_tos, raw)] = handler.messages
    assert rcpt_tos == RECIPIENTS == list(receipt.accepted), "only the intended recipients get the message"
    _assert_clean(raw, changes, literal)
    return "clean"


@pytest.mark.parametrize("changes, refused_with", INJECTIONS)
def test_header_injection_variant_is_refused_or_delivered_clean(changes, refused_with, smtp_server):
    controller, handler = smtp_server
    outcome = _attempt(changes, refused_with, controller, handler)
    assert outcome == ("clean" if refused_with is None else "refused")


def _input_checks_off(monkeypatch) -> None:
    monkeypatch.setattr(mail, "check_header_text", lambda value, what: None)
    monkeypatch.setattr(mail, "_no_encoded_words", lambda value, what: None)
    monkeypatch.setattr(mail, "_set_subject", lambda message, subject: message.__setitem__("Subject", subject))


@pytest.mark.parametrize("changes, refused_with", INJECTIONS)
def test_the_serialized_header_check_alone_stops_every_variant(changes, refused_with, smtp_server, monkeypatch):
    # With the input checks off, what stands between the library and the client is the read-back of the
    # bytes: whatever this interpreter writes, either the variant is refused or its bytes are clean.
    controller, handler = smtp_server
    _input_checks_off(monkeypatch)
    # The library decodes encoded words then, so only the headers and the recipients are checked.
    assert _attempt(changes, None, controller, handler, literal=False) in ("refused", "clean")


def test_header_injection_corpus(smtp_server, monkeypatch):
    controller, handler = smtp_server
    outcomes = {param.id: _attempt(*param.values, controller, handler) for param in INJECTIONS}
    blocked = sum(outcome in ("refused", "clean") for outcome in outcomes.values())
    print(f"header injection: {len(outcomes)} variants checked, {blocked} blocked "
          f"({list(outcomes.values()).count('refused')} refused, {list(outcomes.values()).count('clean')} "
          "delivered clean)")
    _input_checks_off(monkeypatch)
    alone = [param.id for param in INJECTIONS
             if _attempt(param.values[0], None, controller, handler, literal=False) == "refused"]
    print(f"header injection, input checks off: {len(alone)} of {len(INJECTIONS)} refused by the serialized "
          "header check or the library, the rest delivered clean")
    assert len(outcomes) >= 20 and blocked == len(outcomes)


@pytest.mark.parametrize(
    "tamper, reason",
    [
        pytest.param(lambda m: m.set_raw("Subject", f"Hi\r\n{BCC}"), "header", id="raw-bcc-line"),
        pytest.param(lambda m: m.set_raw("Subject", f"Hi\r\n \r\n{BCC}"), "header", id="blank-continuation"),
        pytest.param(lambda m: m.set_raw("Subject", "A second subject"), "Subject", id="second-subject"),
        pytest.param(lambda m: m.__setitem__("X-Mailer", "evil"), "X-Mailer", id="header-never-set"),
        pytest.param(lambda m: m.set_raw("Subject", "Caf\xe9"), "header", id="non-ascii-raw"),
        pytest.param(lambda m: m.get_payload()[0].__setitem__("X-Evil", "1"), "MIME part", id="part-header"),
    ],
)
def test_a_message_whose_header_block_comes_out_wrong_is_neither_saved_nor_sent(tamper, reason, smtp_server):
    controller, handler = smtp_server
    handler.messages.clear()
    message = _message()
    tamper(message)
    with pytest.raises(HeaderInjectionError, match="did not come out as it was built") as caught:
        to_eml_bytes(message)
    assert reason in str(caught.value)
    with pytest.raises(HeaderInjectionError, match=r"Nothing was sent|not sent"):
        send(message, _settings(controller))
    assert handler.messages == []


def test_an_address_too_long_for_one_header_line_is_refused():
    with pytest.raises(HeaderInjectionError, match="the limit is 998"):
        to_eml_bytes(_message(recipients=["a" * 1000 + "@acme.example"]))


@pytest.mark.parametrize(
    "changes",
    [
        {"subject": "Résolu : export des commandes 🔥 " * 9},
        {"subject": "x" * 300},
        {"subject": "Is a =? b ?= c, or =?x?"},
        {"subject": "Order   exports\u00a0failing"},
        {"recipients": ['Ana "the boss" Martin <ana@acme.example>', "Back\\slash <b@acme.example>"]},
        {"recipients": [f"user{i}@acme.example" for i in range(40)],
         "cc": ["Ünïcödé Nämé; with: colon <c@acme.example>"]},
        {"attachments": [Attachment("Incident timeline, été.csv", b"a,b\n", "text/csv")]},
    ],
)
def test_ordinary_messages_pass_the_header_check(changes):
    message = _message(**changes)
    parsed = email.message_from_bytes(to_eml_bytes(message), policy=email.policy.default)
    assert parsed["Subject"] == message["Subject"]
    assert [a.addr_spec for a in parsed["To"].addresses] == [a.addr_spec for a in message["To"].addresses]
