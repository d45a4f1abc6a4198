-- The W3C trace context an event was published in (`traceparent`, and
-- `tracestate` after a space when there was one), when traces are exported
-- (src/telemetry.rs): each delivery attempt's span is its child. Nullable:
-- older events, and every event while traces are off, have none.
ALTER TABLE events ADD COLUMN traceparent TEXT;
