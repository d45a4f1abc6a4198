DROP TABLE history_events;
DROP TABLE history;
DROP TABLE deliveries;
DROP TABLE events;
DROP TABLE webhooks;
DROP TABLE event_types;
DROP TABLE api_tokens;
