-- Fair claims (issue #18): a claim shares its room among the organizations
-- with due deliveries, so the index of waiting deliveries is led by the
-- organization. Finding the next organization with waiting rows is one
-- index seek, and an organization's due rows are one range of it, in the
-- order they are claimed. It replaces `deliveries_due` (one global order
-- by due time) rather than sitting beside it: every publish, claim and
-- settlement writes the waiting index, so a second one would double that.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_org_due ON deliveries (organization_id, next_attempt_at, event_id, webhook_id)
    WHERE status IN ('pending', 'failed');
