-- Security: signing schemes, secret rotation with a grace period.
-- Secrets (secret, previous_secret) are stored sealed by the vault
-- (`src/vault.rs`); existing clear-text secrets are sealed at start-up,
-- since SQL cannot reach the master key.
ALTER TABLE webhooks ADD COLUMN signature_scheme TEXT NOT NULL DEFAULT 'both';
ALTER TABLE webhooks ADD COLUMN previous_secret TEXT;
ALTER TABLE webhooks ADD COLUMN previous_secret_expires_at TIMESTAMP;
