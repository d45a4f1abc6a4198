-- Issue 28, content filters: a web hook's RFC 9535 JSONPath query, checked
-- against each event at fan-out; NULL delivers every subscribed event.
ALTER TABLE webhooks ADD COLUMN filter TEXT;
