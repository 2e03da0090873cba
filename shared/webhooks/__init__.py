"""Signed webhooks (Standard Webhooks, standardwebhooks.com), built once for every service.

A service mounts them with ``hub.mount`` (in its ``webhooks`` module), handing over only the
event types it publishes and the source of its events (the registry's change feed, or a small
outbox table written in the same transaction as the change); its webhook tables are made here
(``models.tables``) in its schema. The flow:

1. A transaction that writes events ``kick``s the dispatcher after its commit.
2. ``dispatch`` (one pass at a time per service) reads the events every older transaction
   has committed, past its cursor, and fans them out into one delivery row per matching
   subscription (region and event filter), the body masked for the subscriber's role, all
   in one transaction with the cursor: no change is missed or delivered before its commit.
3. ``deliver`` (one job per subscription at a time, bounded concurrency, short timeouts)
   POSTs due deliveries, signed, and records each attempt; a failure is retried with
   exponential backoff and jitter, a subscription failing for days is disabled.
"""
