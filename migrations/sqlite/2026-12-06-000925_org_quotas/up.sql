-- Issue 25, per-organization quotas: counting an organization's waiting
-- runs and pending OAuth states reads these instead of the whole table.
CREATE INDEX runs_org_waiting ON runs (organization_id)
    WHERE status IN ('queued', 'retry_scheduled', 'waiting');
CREATE INDEX oauth_states_org ON oauth_states (organization_id, expires_at);
