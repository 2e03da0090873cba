-- One database role per Povguard service, each limited to its own schema, and none able to
-- change or remove what is append-only: payments, the funds ledgers and every audit log.
--
-- Run it as the owner of the schemas (the account `povguard migrate` uses), after the
-- migrations and again after any release whose migrations add tables:
--
--     psql "$OWNER_DATABASE_URL" -v ON_ERROR_STOP=1 -f deploy/database-roles.sql
--
-- It is idempotent. The roles get no password here (none belongs in a repository): set one
-- per role, then give each service its own DATABASE_URL with it:
--
--     ALTER ROLE povguard_funds PASSWORD '...';
--
-- The append-only tables also refuse UPDATE, DELETE and TRUNCATE by trigger (migration
-- 0008), whoever asks; these grants add that a service never even holds the privilege.
-- The worker runs every service's jobs, so povguard_worker is a member of all three roles.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'povguard_registry') THEN
        CREATE ROLE povguard_registry LOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'povguard_monitoring') THEN
        CREATE ROLE povguard_monitoring LOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'povguard_funds') THEN
        CREATE ROLE povguard_funds LOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'povguard_worker') THEN
        CREATE ROLE povguard_worker LOGIN;
    END IF;
END $$;

-- registry
GRANT USAGE ON SCHEMA registry TO povguard_registry;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA registry TO povguard_registry;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA registry TO povguard_registry;
ALTER DEFAULT PRIVILEGES IN SCHEMA registry
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO povguard_registry;
ALTER DEFAULT PRIVILEGES IN SCHEMA registry
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO povguard_registry;
REVOKE UPDATE, DELETE, TRUNCATE ON registry.change_log FROM povguard_registry;

-- monitoring
GRANT USAGE ON SCHEMA monitoring TO povguard_monitoring;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA monitoring TO povguard_monitoring;
-- A projection rebuild empties the projection tables (never monitoring's own records).
GRANT TRUNCATE ON monitoring.households, monitoring.members, monitoring.economics,
    monitoring.guarantees, monitoring.measures TO povguard_monitoring;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA monitoring TO povguard_monitoring;
ALTER DEFAULT PRIVILEGES IN SCHEMA monitoring
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO povguard_monitoring;
ALTER DEFAULT PRIVILEGES IN SCHEMA monitoring
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO povguard_monitoring;
REVOKE UPDATE, DELETE, TRUNCATE ON monitoring.change_log FROM povguard_monitoring;

-- funds
GRANT USAGE ON SCHEMA funds TO povguard_funds;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA funds TO povguard_funds;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA funds TO povguard_funds;
ALTER DEFAULT PRIVILEGES IN SCHEMA funds
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO povguard_funds;
ALTER DEFAULT PRIVILEGES IN SCHEMA funds
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO povguard_funds;
REVOKE UPDATE, DELETE, TRUNCATE ON funds.payments, funds.payment_confirmations,
    funds.allocations, funds.asset_income, funds.distributions, funds.distribution_shares,
    funds.change_log FROM povguard_funds;

-- The worker: every service's jobs.
GRANT povguard_registry, povguard_monitoring, povguard_funds TO povguard_worker;
