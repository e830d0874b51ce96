"""The durable notification outbox: queue a message in the caller's transaction, deliver it later.

`queue` writes rows (`enqueue`, idempotent on the dedupe key); `delivery` claims due rows
(`FOR UPDATE SKIP LOCKED` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite), sends them with no
transaction open through a sender the caller passes in (the channels live in `core.alerts`, above
this package), and records the outcome with back-off and dead letters.
Deciding *what* is due (the policy's alert rules) is `core.alerts`' job, not this package's.
"""
