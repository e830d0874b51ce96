"""Who hears of a status page's updates: email subscribers (double opt-in), webhooks, the internal tier.

An email address becomes a subscriber only by following the signed confirm link mailed to it, even
when a CSM added it (double opt-in for everyone outside the team); every update mail carries its
own signed unsubscribe link. Each link is signed (`core.statuspage.links`, purpose "confirm" or
"unsubscribe") over the subscriber's current nonce, and using it replaces the nonce, so a link
works once. The public subscribe answer never says whether an address was already subscribed, and
the abuse limits (one request per address per page per RESEND_WAIT, PENDING_PER_HOUR self-service
requests per page) answer alike for every address. Webhooks (set up by the CSM, signed with their
own secret) and the internal stakeholder tier (users of the app) are active at once. Everything is
sent through the outbox in the caller's transaction with one dedupe key per message, so a retry
never sends twice. Public messages hold only client-safe words (the page's headline, the post,
the stage): never the incident's internal title, summary or answers. This module never reads the
clock and never sends anything itself.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.alerts.channels import check_url
from core.alerts.links import link_key
from core.communication.errors import CommunicationError
from core.communication.mail import MailError, parse_address
from core.outbox.delivery import DeliveryError
from core.outbox.queue import Draft, enqueue
from core.people.users import Actor

# core.statuspage.flows imports this module too (post_update calls notify_update): neither uses the other
# before both are loaded, so the circle is harmless.
from core.statuspage import flows as page_flows
from core.statuspage import links
from core.zones import zone
from db.models import Account, Communication, Contact, Incident, StatusPage, StatusSubscriber, User

CONFIRM_PATH = "/status/confirm/"
UNSUBSCRIBE_PATH = "/status/unsubscribe/"
KINDS = ("internal", "email", "webhook")
STATES = ("pending", "active", "unsubscribed")
# One confirmation request per address and page in this window, whoever asks.
RESEND_WAIT = dt.timedelta(minutes=10)
# Self-service requests a page accepts per hour; beyond that someone is using the form to send mail.
PENDING_PER_HOUR = 30
URL_MAX = 500
CONFIRM_RULE = "status:confirm"
UPDATE_RULE = "status:update"
# The one answer the public form gives, subscribed already or not: nobody learns who is subscribed.
CHECK_INBOX = ("Thank you. If this address can subscribe, a confirmation email is on its way: follow its link to "
               "start receiving updates. Nothing is sent until you confirm.")


class SubscriptionError(CommunicationError):
    """The subscription change cannot be made; the message says what to fix."""


@dataclass(frozen=True)
class Subscribed:
    """What `subscribe_email` did: the row, and whether a confirmation mail was queued (for the CSM's eyes only)."""

    subscriber_id: int
    mailed: bool
    already_active: bool


@dataclass(frozen=True)
class LinkOutcome:
    """What a confirm or unsubscribe link did (or, for `about`, would do).

    `kind`: "confirmed", "unsubscribed", "ready" (about: the link would act), "used" (a genuine link
    whose moment has passed: used once already, or replaced by a newer mail), "invalid" (not a link
    of this kind: altered, another purpose, or its subscriber is gone).
    """

    kind: str
    headline: str = ""
    address: str = ""


def _page_and_incident(session: Session, page_id: int) -> tuple[StatusPage, Incident]:
    page = session.get(StatusPage, page_id)
    if page is None:
        raise SubscriptionError(f"There is no status page #{page_id}.")
    return page, session.get_one(Incident, page.incident_id)


def page_id_of(session: Session, incident_id: int) -> int:
    """The id of the incident's status page; SubscriptionError when it has none."""
    page = page_flows.page_of(session, incident_id)
    if page is None:
        raise SubscriptionError(f"Incident #{incident_id} has no status page yet: publish one first.")
    return int(page.id)


def _page_of_incident(session: Session, incident_id: int, actor: Actor) -> tuple[StatusPage, Incident]:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise SubscriptionError(f"There is no incident #{incident_id}.")
    page_flows.check_may_publish(actor, incident)
    page = page_flows.page_of(session, incident_id)
    if page is None:
        raise SubscriptionError(f"Incident #{incident_id} has no status page yet: publish one first.")
    return page, incident


def _audit(session: Session, actor: Actor, row: StatusSubscriber, action: str, now: dt.datetime,
           changes: dict[str, list[object]]) -> None:
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="status_subscriber",
                 entity_id=row.id, action=action, changes=changes, at=now)


def _link(base_url: str, path: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{path}{token}"


def _existing(session: Session, page_id: int, kind: str, address: str) -> StatusSubscriber | None:
    return session.scalar(select(StatusSubscriber).where(
        StatusSubscriber.status_page_id == page_id, StatusSubscriber.kind == kind,
        StatusSubscriber.address == address))


def _insert(session: Session, row: StatusSubscriber) -> StatusSubscriber:
    """Add `row`; when a concurrent request added the same page/kind/address first, that row instead."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        found = _existing(session, row.status_page_id, row.kind, row.address)
        if found is None:
            raise
        return found
    return row


def normalise_address(address: str) -> str:
    """The bare address (no display name), lower case; SubscriptionError saying what to fix otherwise."""
    try:
        parsed = parse_address((address or "").strip(), what="The email address")
    except MailError as error:
        raise SubscriptionError(str(error)) from None
    spec = parsed.addr_spec.lower()
    if len(spec) > 254:
        raise SubscriptionError("The email address is longer than 254 characters: check it.")
    return spec


def subscribe_email(session: Session, *, page_id: int, address: str, added_by: Actor | None, now: dt.datetime,
                    base_url: str) -> Subscribed:
    """Ask `address` to confirm its subscription to the page (one signed confirm link, queued in this transaction).

    `added_by` None is the public form: it is held to the per-page hourly cap. An address already
    active gets no mail, and the public form answers it exactly like a new one.
    """
    spec = normalise_address(address)
    page, incident = _page_and_incident(session, page_id)
    if added_by is not None:
        page_flows.check_may_publish(added_by, incident)
    row = _existing(session, page.id, "email", spec)
    if row is not None and row.confirmation_sent_at is not None and now - row.confirmation_sent_at < RESEND_WAIT:
        raise SubscriptionError(
            f"A confirmation for this address was asked for less than {RESEND_WAIT.seconds // 60} minutes ago: "
            "check that inbox (and its spam folder), or try again later.")
    if added_by is None and (row is None or row.state != "active"):
        asked = session.scalar(select(func.count()).select_from(StatusSubscriber).where(
            StatusSubscriber.status_page_id == page.id, StatusSubscriber.kind == "email",
            StatusSubscriber.state == "pending", StatusSubscriber.added_by_id.is_(None),
            StatusSubscriber.confirmation_sent_at >= now - dt.timedelta(hours=1))) or 0
        if asked >= PENDING_PER_HOUR:
            raise SubscriptionError("This status page has had too many subscription requests in the last hour: "
                                    "please try again in an hour.")
    if row is None:
        row = _insert(session, StatusSubscriber(
            status_page_id=page.id, kind="email", address=spec, state="pending", nonce=links.new_nonce(),
            added_by_id=added_by.id if added_by else None, created_at=now, updated_at=now))
    already_active = row.state == "active"
    # Stamped for an active address too (no mail goes out), so the limit answers alike for every address.
    row.confirmation_sent_at, row.updated_at = now, now
    if not already_active:
        before = row.state
        row.state, row.nonce, row.unsubscribed_at = "pending", links.new_nonce(), None
        if added_by is not None:
            row.added_by_id = added_by.id
        session.flush()
        _queue_confirmation(session, page, incident, row, now=now, base_url=base_url)
        if added_by is not None:
            _audit(session, added_by, row, "status_subscriber:invite", now,
                   {"address": [None, spec], "state": [before, "pending"]})
    session.flush()
    return Subscribed(row.id, not already_active, already_active)


def _queue_confirmation(session: Session, page: StatusPage, incident: Incident, row: StatusSubscriber, *,
                        now: dt.datetime, base_url: str) -> None:
    token = links.sign(link_key(session), row.id, row.nonce, purpose="confirm")
    body = (f"Someone, perhaps you, asked for email updates about \"{page.headline}\".\n\n"
            f"To start receiving them, open this link and press Confirm:\n{_link(base_url, CONFIRM_PATH, token)}\n\n"
            "If you did not ask for this, ignore this email: nothing more will be sent to you.")
    enqueue(session, Draft(rule=CONFIRM_RULE, channel="email", recipient=row.address,
                           dedupe_key=f"status-confirm:{row.id}:{row.nonce}", due_at=now,
                           subject=f"Confirm your subscription: {page.headline}"[:300], body=body,
                           incident_id=incident.id, payload={"status_subscriber_id": row.id},
                           drill=incident.is_drill), now=now)


def _use_link(session: Session, token: str, purpose: str, *, act: bool, now: dt.datetime) -> LinkOutcome:
    try:
        ident, nonce = links.verify(link_key(session), token, purpose=purpose)
    except links.StatusLinkError:
        return LinkOutcome("invalid")
    row = session.get(StatusSubscriber, ident)
    if row is None or row.kind != "email":
        return LinkOutcome("invalid")
    headline = session.get_one(StatusPage, row.status_page_id).headline
    wanted = "pending" if purpose == "confirm" else "active"
    if not secrets.compare_digest(row.nonce, nonce) or row.state != wanted:
        return LinkOutcome("used", headline, row.address)
    if not act:
        return LinkOutcome("ready", headline, row.address)
    if purpose == "confirm":
        row.state, row.confirmed_at = "active", now
    else:
        row.state, row.unsubscribed_at = "unsubscribed", now
    # A new nonce: this link (and every earlier one) stops working; later mails carry links on the new one.
    row.nonce, row.updated_at = links.new_nonce(), now
    session.flush()
    return LinkOutcome("confirmed" if purpose == "confirm" else "unsubscribed", headline, row.address)


def about(session: Session, token: str, *, purpose: str) -> LinkOutcome:
    """What the confirm or unsubscribe link would do, changing nothing (for the GET page)."""
    if purpose not in ("confirm", "unsubscribe"):
        raise ValueError(f"Unknown link purpose {purpose!r}.")
    return _use_link(session, token, purpose, act=False, now=dt.datetime.min)


def confirm(session: Session, token: str, *, now: dt.datetime) -> LinkOutcome:
    """Follow a confirm link: a pending subscriber becomes active, once."""
    return _use_link(session, token, "confirm", act=True, now=now)


def unsubscribe(session: Session, token: str, *, now: dt.datetime) -> LinkOutcome:
    """Follow an unsubscribe link: an active subscriber stops getting updates, once."""
    return _use_link(session, token, "unsubscribe", act=True, now=now)


def add_webhook(session: Session, *, incident_id: int, url: str, actor: Actor,
                now: dt.datetime) -> tuple[StatusSubscriber, str]:
    """A webhook subscriber, active at once, and its signing secret (shown this once); audited."""
    page, _ = _page_of_incident(session, incident_id, actor)
    url = (url or "").strip()
    if len(url) > URL_MAX:
        raise SubscriptionError(f"The webhook URL is {len(url)} characters long; keep it under {URL_MAX}.")
    try:
        check_url(url)
    except DeliveryError:
        raise SubscriptionError("The webhook URL must start with http:// or https:// and name a host.") from None
    row = _existing(session, page.id, "webhook", url)
    if row is not None and row.state == "active":
        raise SubscriptionError("This webhook already receives the updates: remove it first to get a new secret.")
    secret = secrets.token_urlsafe(32)
    if row is None:
        row = _insert(session, StatusSubscriber(status_page_id=page.id, kind="webhook", address=url,
                                                nonce=links.new_nonce(), created_at=now))
    row.secret, row.state, row.added_by_id, row.confirmed_at = secret, "active", actor.id, now
    row.unsubscribed_at, row.updated_at = None, now
    session.flush()
    _audit(session, actor, row, "status_subscriber:add_webhook", now, {"address": [None, url]})
    return row, secret


def add_internal(session: Session, *, incident_id: int, user_id: int, actor: Actor,
                 now: dt.datetime) -> StatusSubscriber:
    """An internal stakeholder (any active user), told of every update in the app and by email; audited."""
    page, _ = _page_of_incident(session, incident_id, actor)
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise SubscriptionError("Pick an active user of the app as the stakeholder.")
    address = f"u:{user.id}"
    row = _existing(session, page.id, "internal", address)
    if row is not None and row.state == "active":
        raise SubscriptionError(f"{user.display_name} already gets every update of this status page.")
    if row is None:
        row = _insert(session, StatusSubscriber(status_page_id=page.id, kind="internal", address=address,
                                                user_id=user.id, nonce=links.new_nonce(), created_at=now))
    row.state, row.added_by_id, row.confirmed_at, row.unsubscribed_at, row.updated_at = \
        "active", actor.id, now, None, now
    session.flush()
    _audit(session, actor, row, "status_subscriber:add_internal", now, {"user_id": [None, user.id]})
    return row


def remove(session: Session, *, subscriber_id: int, actor: Actor, now: dt.datetime) -> StatusSubscriber:
    """Stop a subscriber (kept as unsubscribed, so the list shows who left); its pending webhooks then fail."""
    row = session.get(StatusSubscriber, subscriber_id)
    if row is None:
        raise SubscriptionError(f"There is no subscriber #{subscriber_id}: reload the page.")
    page = session.get_one(StatusPage, row.status_page_id)
    _page_of_incident(session, page.incident_id, actor)
    if row.state == "unsubscribed":
        raise SubscriptionError("This subscriber is already removed.")
    before = row.state
    row.state, row.unsubscribed_at, row.nonce, row.secret, row.updated_at = \
        "unsubscribed", now, links.new_nonce(), "", now
    session.flush()
    _audit(session, actor, row, "status_subscriber:remove", now, {"state": [before, "unsubscribed"]})
    return row


@dataclass(frozen=True)
class SubscriberRow:
    """One subscriber as the incident's panel lists it."""

    id: int
    kind: str
    state: str
    address: str
    user_name: str
    created_at: dt.datetime
    confirmed_at: dt.datetime | None
    unsubscribed_at: dt.datetime | None


def subscribers_of(session: Session, incident_id: int) -> list[SubscriberRow]:
    """The incident's page's subscribers, by tier (internal, email, webhook), then oldest first."""
    page = page_flows.page_of(session, incident_id)
    if page is None:
        return []
    rows = session.execute(
        select(StatusSubscriber, User.display_name).outerjoin(User, User.id == StatusSubscriber.user_id)
        .where(StatusSubscriber.status_page_id == page.id).order_by(StatusSubscriber.created_at, StatusSubscriber.id))
    listed = [SubscriberRow(r.id, r.kind, r.state, r.address, name or "", r.created_at, r.confirmed_at,
                            r.unsubscribed_at) for r, name in rows]
    return sorted(listed, key=lambda s: KINDS.index(s.kind) if s.kind in KINDS else len(KINDS))


def _when(moment: dt.datetime, time_zone: str) -> str:
    local = moment.astimezone(zone(time_zone))
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or time_zone)


def notify_update(session: Session, *, page: StatusPage, communication: Communication, notify_public: bool,
                  base_url: str, now: dt.datetime) -> int:
    """Queue the update for the internal tier always, and for active email and webhook subscribers when
    `notify_public`; returns how many notifications were queued."""
    incident = session.get_one(Incident, page.incident_id)
    account = session.get_one(Account, incident.account_id)
    stage = page_flows.STAGES.get(communication.public_status or "", communication.public_status or "")
    posted = communication.sent_at if communication.sent_at.tzinfo else communication.sent_at.replace(tzinfo=dt.UTC)
    status_link = links.status_url(base_url, page_flows.token_of(session, page))
    key = link_key(session)
    text = (f"{page.headline}\nStatus: {stage}\n\n{communication.subject}\n\n{communication.body_text}\n\n"
            f"Posted {_when(posted, account.time_zone)}.\nFollow it on the status page: {status_link}")
    subject = f"[{stage}] {page.headline}: {communication.subject}"[:300]
    queued = 0

    def queue(draft: Draft) -> None:
        nonlocal queued
        if enqueue(session, draft, now=now) is not None:
            queued += 1

    subscribers = session.scalars(select(StatusSubscriber).where(
        StatusSubscriber.status_page_id == page.id, StatusSubscriber.state == "active")
        .order_by(StatusSubscriber.id)).all()
    for row in subscribers:
        dedupe = f"status-update:{communication.id}:{row.id}"

        def draft(channel: str, recipient: str, key: str, body: str, payload: dict[str, object],
                  user_id: int | None = None) -> Draft:
            return Draft(rule=UPDATE_RULE, channel=channel, recipient=recipient, dedupe_key=key, due_at=now,
                         subject=subject, body=body, incident_id=incident.id, user_id=user_id, payload=payload,
                         drill=incident.is_drill)
        if row.kind == "internal":
            user = session.get(User, row.user_id) if row.user_id is not None else None
            if user is None or not user.is_active:
                continue
            internal = (f"{text}\n\nIncident #{incident.id} (you follow its status page as a stakeholder; "
                        f"{'subscribers were notified' if notify_public else 'public subscribers were not notified'}).")
            queue(draft("inbox", user.display_name, f"{dedupe}:inbox", internal, {}, user_id=user.id))
            if user.email:
                queue(draft("email", user.email, f"{dedupe}:email", internal, {"status_subscriber_id": row.id}))
        elif not notify_public:
            continue
        elif row.kind == "email":
            unsubscribe_url = _link(base_url, UNSUBSCRIBE_PATH,
                                    links.sign(key, row.id, row.nonce, purpose="unsubscribe"))
            queue(draft("email", row.address, dedupe,
                        f"{text}\n\nTo stop these emails, open this link and press Unsubscribe:\n{unsubscribe_url}",
                        {"status_subscriber_id": row.id, "unsubscribe_url": unsubscribe_url}))
        elif row.kind == "webhook":
            body = {"incident": f"INC-{incident.id}", "headline": page.headline,
                    "stage": communication.public_status, "title": communication.subject,
                    "text": communication.body_text, "posted_at": posted.astimezone(dt.UTC).isoformat(),
                    "status_page_url": status_link, "drill": incident.is_drill}
            queue(draft("webhook", row.address, dedupe, "", {"status_subscriber_id": row.id, "body": body}))
    return queued


@dataclass(frozen=True)
class SubscriberPanel:
    """What the incident's subscribers section shows: the page, the subscribers, whom one could add."""

    has_page: bool
    may_manage: bool
    subscribers: list[SubscriberRow]
    # The account's contacts with an address: (label, address); the active users: (id, name).
    contacts: list[tuple[str, str]]
    users: list[tuple[int, str]]


def masked(row: SubscriberRow) -> str:
    """The subscriber as someone who may not manage them sees it: an address's first letter and domain, a URL's host."""
    if row.kind == "internal":
        return row.user_name
    if row.kind == "webhook":
        parts = urlsplit(row.address)
        return f"{parts.scheme}://{parts.hostname or '?'}/…"
    local, _, domain = row.address.partition("@")
    return f"{local[:1]}…@{domain}"


def subscriber_panel(session: Session, incident_id: int, actor: Actor) -> SubscriberPanel:
    """The subscribers section's read model (no write): who may manage is `check_may_publish`'s answer."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise SubscriptionError(f"There is no incident #{incident_id}.")
    try:
        page_flows.check_may_publish(actor, incident)
        may_manage = True
    except PermissionError:
        may_manage = False
    has_page = page_flows.page_of(session, incident_id) is not None
    contacts = [(f"{c.name} ({c.role})" if c.role else c.name, c.email) for c in session.scalars(
        select(Contact).where(Contact.account_id == incident.account_id, Contact.email != "")
        .order_by(Contact.is_primary.desc(), Contact.name))]
    users = [(u.id, u.display_name) for u in session.scalars(
        select(User).where(User.is_active.is_(True)).order_by(User.display_name))]
    return SubscriberPanel(has_page, may_manage, subscribers_of(session, incident_id), contacts, users)
