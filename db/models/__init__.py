"""The schema: typed SQLAlchemy 2 models for everything the app stores, one module per area.

Modules: `base` (the one declarative `Base`, UTC timestamps), `people` (users and
sign-in protection), `accounts` (accounts, contacts, health readings and the
per-day signals derived from incidents), `incidents`
(incidents, platform outages, roles, timeline, escalations, pauses, action items), `communications`
(client messages and template versions), `api` (API tokens), `reports` (reports, post-mortems, review
tasks), `notifications` (the outbox and webhook endpoints), `oncall` (schedules,
pages, followers), `statuspages` (status pages and their subscribers), `sla` (the dashboard's summary
tables), `settings` (policy versions, settings, the audit log). Every
model is re-exported here: callers write `from db.models import Incident`, and
importing this package registers every table on `Base.metadata` (Alembic reads it).

Times are stored in UTC (`UtcDateTime` refuses naive values) and shown in
the user's zone by the pages. Status and role values are plain strings here;
their vocabulary and the moves between them live in `core`. Rows that people
edit carry a `version` column that SQLAlchemy checks on every UPDATE, so a
stale edit fails instead of overwriting. This package must never contain
business rules or queries: those live in `core`.
"""

from db.models.accounts import (
    Account,
    AccountHealth,
    AccountIncidentDay,
    Contact,
    HealthSignal,
    IncidentAnswerReading,
)
from db.models.api import AlertSource, ApiIdempotency, ApiRateCount, ApiToken
from db.models.base import NAMING, Base, UtcDateTime, utc_now
from db.models.communications import Communication, MessageTemplateVersion
from db.models.incidents import (
    ActionItem,
    Escalation,
    Incident,
    IncidentAssignment,
    Outage,
    SlaPause,
    TimelineEvent,
)
from db.models.notifications import Notification, NotificationEndpoint
from db.models.oncall import (
    ExternalContact,
    IncidentFollower,
    NotificationRule,
    OnCallLayer,
    OnCallOverride,
    OnCallSchedule,
    OnCallSwap,
    Page,
)
from db.models.people import LoginDelay, LoginThrottle, RevokedSession, User
from db.models.reports import IncidentReport, ReviewTask
from db.models.settings import AuditEntry, PolicySnapshot, PolicyVersion, Setting
from db.models.sla import (
    SLA_BUCKET_COLUMNS,
    SLA_DURATION_BUCKETS,
    IncidentFact,
    IncidentRollup,
    SlaBreachHeat,
    SlaClockFact,
    SlaOpenBreachHeat,
    SlaOpenRollup,
    SlaRollup,
    SlaRuleRollup,
)
from db.models.statuspages import StatusPage, StatusSubscriber

__all__ = [
    "NAMING",
    "SLA_BUCKET_COLUMNS",
    "SLA_DURATION_BUCKETS",
    "Account",
    "AccountHealth",
    "AccountIncidentDay",
    "ActionItem",
    "AlertSource",
    "ApiIdempotency",
    "ApiRateCount",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Communication",
    "Contact",
    "Escalation",
    "ExternalContact",
    "HealthSignal",
    "Incident",
    "IncidentAnswerReading",
    "IncidentAssignment",
    "IncidentFact",
    "IncidentFollower",
    "IncidentReport",
    "IncidentRollup",
    "LoginDelay",
    "LoginThrottle",
    "MessageTemplateVersion",
    "Notification",
    "NotificationEndpoint",
    "NotificationRule",
    "OnCallLayer",
    "OnCallOverride",
    "OnCallSchedule",
    "OnCallSwap",
    "Outage",
    "Page",
    "PolicySnapshot",
    "PolicyVersion",
    "ReviewTask",
    "RevokedSession",
    "Setting",
    "SlaBreachHeat",
    "SlaClockFact",
    "SlaOpenBreachHeat",
    "SlaOpenRollup",
    "SlaPause",
    "SlaRollup",
    "SlaRuleRollup",
    "StatusPage",
    "StatusSubscriber",
    "TimelineEvent",
    "User",
    "UtcDateTime",
    "utc_now",
]
