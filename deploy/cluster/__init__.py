"""A local taskstream cluster without Docker (issue 12): PostgreSQL, a Kafka broker, N API replicas behind HAProxy,
an active and a standby relay and the audit subscriber, as processes on one machine (`python -m deploy.cluster`),
and the failure drill run against it (`python -m deploy.cluster.drill`). See deploy/README.md."""
