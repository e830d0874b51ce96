"""Email: building, .eml export, header-injection refusal and delivery against a real SMTP server.

The SMTP tests run aiosmtpd on 127.0.0.1 (a free port per test module). Its
handler refuses any recipient whose address starts with "refuse" with 550,
and optionally requires a login (user "csm", password "right").
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import threading
import time

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from core.messages import render, sample_context
from core.mail import (
    AddressError,
    Attachment,
    AuthenticationRefused,
    HeaderInjectionError,
    MailError,
    RecipientRefused,
    SendTimeout,
    ServerUnreachable,
    SmtpSettings,
    TlsError,
    build_email,
    envelope_recipients,
    send,
    to_eml_bytes,
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
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == "Hello Ana,\n\nWe are working on it. Café déjà vu.\n"
    assert "Caf&eacute;" in parsed.get_body(("html",)).get_content()


def test_non_ascii_subject_and_names_survive_the_round_trip():
    raw = to_eml_bytes(_message(subject="Résolu : export des commandes", recipients=['"Martin, Ána" <ana@acme.example>']))
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

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd hook)
        if address.startswith("refuse"):
            return "550 5.1.1 <%s>: Recipient address rejected: no such mailbox" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook)
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
    assert received.get_body(("plain",)).get_content().replace("\r\n", "\n") == "Hello Ana,\n\nWe are working on it. Café déjà vu.\n"
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
    assert list(receipt.refused) == ["refuse-me@acme.example"] and receipt.refused["refuse-me@acme.example"].startswith("550")
    assert not receipt.complete
    [(_, rcpt_tos, _)] = handler.messages
    assert rcpt_tos == ["ana@acme.example"]


def test_partial_sending_with_every_recipient_refused_is_an_error(smtp_server):
    controller, handler = smtp_server
    handler.messages.clear()
    with pytest.raises(RecipientRefused, match="refuse-a@acme.example"):
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
        with pytest.raises(SendTimeout, match="did not answer within 0.5 s"):
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
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(handler.messages) == 5
