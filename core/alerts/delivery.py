"""Deliver the outbox through the team's channels: the wiring between `core.outbox` and `core.alerts.channels`.

`deliver` reads what the senders need once per pass (the saved SMTP settings, the SMTP password from
`ESCALATION_DESK_SMTP_PASSWORD`, the endpoints, the status page subscribers, the acknowledge-link key)
in a short transaction, closes it, and runs `core.outbox.delivery.deliver_due` batches with a sender that
picks the channel of each notification, while batches come back full and its time budget lasts. Every message to a
person (one with a user or an escalation level) carries its own signed acknowledge link.
`retry_dead_letter` is the admin's "send it again", audited. This module must never hold a
transaction open while sending, and never show or log a secret.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core import audit
from core.alerts import channels, links
from core.alerts.channels import Endpoint, SubscriberTarget
from core.alerts.endpoints import check_may_manage
from core.communication.smtp import SmtpSettings, smtp_settings
from core.outbox import delivery as outbox
from core.outbox.delivery import DEFAULT_LEASE, DEFAULT_LIMIT, DeliveryError, DeliverySummary, Outgoing
from core.people.users import Actor
from db.engine import session_scope
from db.models import Notification, NotificationEndpoint, StatusSubscriber

PASSWORD_ENV = "ESCALATION_DESK_SMTP_PASSWORD"
# How long one pass may go on claiming batches of a backlog (the scheduler runs a pass every ~30 s).
BUDGET_S = 20.0


@dataclass(frozen=True)
class ChannelSender:
    """The sender of one pass: what every channel needs, read before any sending starts."""

    now: dt.datetime
    base_url: str
    link_key: bytes = field(repr=False)
    smtp: SmtpSettings | None = None
    smtp_password: str | None = field(default=None, repr=False)
    endpoints: dict[int, Endpoint] = field(default_factory=dict)
    # Status page subscribers by id: their messages carry `status_subscriber_id` and have no endpoint.
    subscribers: dict[int, SubscriberTarget] = field(default_factory=dict)
    timeout: float = channels.TIMEOUT_S

    def ack_url(self, item: Outgoing) -> str | None:
        """The acknowledge link for a message to a person (a user or a level); None for a team channel."""
        if (item.user_id is None and item.level is None) or not self.base_url:
            return None
        return links.ack_url(self.base_url, links.sign(self.link_key, item.id, now=self.now))

    def __call__(self, item: Outgoing) -> None:
        """Send `item` over its channel; DeliveryError when it did not arrive."""
        if item.channel == "inbox":
            return  # the row itself is the in-app message: nothing to carry anywhere
        subscriber_id = item.payload.get("status_subscriber_id")
        if subscriber_id is not None:
            self._to_subscriber(item, self.subscribers.get(int(subscriber_id)))
            return
        ack_url = self.ack_url(item)
        if item.channel == "email":
            channels.send_email(item, settings=self.smtp, password=self.smtp_password, ack_url=ack_url, now=self.now)
        elif item.channel in ("webhook", "slack", "teams", "sms"):
            endpoint = self.endpoints.get(item.endpoint_id) if item.endpoint_id is not None else None
            channels.send_http(item, endpoint, ack_url=ack_url, now=self.now, timeout=self.timeout)
        else:
            raise DeliveryError(f"Unknown channel {item.channel!r}.", permanent=True)

    def _to_subscriber(self, item: Outgoing, target: SubscriberTarget | None) -> None:
        # A status page update or confirmation: no acknowledge link (nothing to acknowledge), and
        # nothing at all once the subscriber was removed or unsubscribed.
        if target is None or target.state == "unsubscribed":
            raise DeliveryError("The status page subscriber was removed or unsubscribed since this was queued.",
                                permanent=True)
        if item.channel == "email":
            channels.send_email(item, settings=self.smtp, password=self.smtp_password, ack_url=None, now=self.now)
        elif item.channel == "webhook":
            channels.send_subscriber_webhook(item, target, now=self.now, timeout=self.timeout)
        else:
            raise DeliveryError(f"A status page subscriber gets no {item.channel!r} messages.", permanent=True)


def endpoint_snapshots(session: Session) -> dict[int, Endpoint]:
    """Every configured endpoint (enabled or not, so a disabled one fails with its name) by id."""
    rows = session.scalars(select(NotificationEndpoint))
    return {row.id: Endpoint(id=row.id, name=row.name, kind=row.kind, url=row.url, secret=row.secret,
                             is_enabled=row.is_enabled) for row in rows}


def subscriber_snapshots(session: Session) -> dict[int, SubscriberTarget]:
    """Every status page subscriber's state (and a webhook's URL and secret) by id, read from the table."""
    rows = session.execute(select(StatusSubscriber.id, StatusSubscriber.kind, StatusSubscriber.state,
                                  StatusSubscriber.address, StatusSubscriber.secret))
    return {row.id: SubscriberTarget(id=row.id, kind=row.kind, state=row.state,
                                     url=row.address if row.kind == "webhook" else "",
                                     secret=row.secret if row.kind == "webhook" else "") for row in rows}


def sender_for(engine: Engine, *, now: dt.datetime, base_url: str,
               timeout: float = channels.TIMEOUT_S) -> ChannelSender:
    """Read the SMTP settings, endpoints and link key in one short transaction and build the pass's sender."""
    with session_scope(engine) as session:
        settings, _ = smtp_settings(session)
        return ChannelSender(now=now, base_url=base_url, link_key=links.link_key(session), smtp=settings,
                             smtp_password=os.environ.get(PASSWORD_ENV) or None,
                             endpoints=endpoint_snapshots(session), subscribers=subscriber_snapshots(session),
                             timeout=timeout)


def deliver(engine: Engine, *, now: dt.datetime, worker: str, base_url: str, limit: int = DEFAULT_LIMIT,
            lease: dt.timedelta = DEFAULT_LEASE, timeout: float = channels.TIMEOUT_S,
            budget_s: float = BUDGET_S) -> DeliverySummary:
    """One delivery pass over every channel: claim what is due, send it, record the outcomes.

    Claims `limit` rows at a time and goes on while batches come back full, for at most `budget_s`
    seconds, so a backlog (after an outage) drains in one pass rather than `limit` per scheduler period.
    """
    send = sender_for(engine, now=now, base_url=base_url, timeout=timeout)
    started = time.monotonic()
    total = DeliverySummary()
    while True:
        batch = outbox.deliver_due(engine, now=now, send=send, worker=worker, limit=limit, lease=lease)
        total = DeliverySummary(due=total.due + batch.due, sent=total.sent + batch.sent,
                                failed=total.failed + batch.failed, retrying=total.retrying + batch.retrying)
        if batch.due < limit or time.monotonic() - started > budget_s:
            return total


def retry_dead_letter(session: Session, notification_id: int, *, actor: Actor, now: dt.datetime) -> Notification:
    """An admin puts a dead letter back in the queue (RetryRefused for any other state), audited."""
    check_may_manage(actor)
    row = outbox.retry(session, notification_id, now=now)
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="notification",
                 entity_id=str(notification_id), action="retry", changes={"state": ["dead", "pending"]}, at=now)
    return row
