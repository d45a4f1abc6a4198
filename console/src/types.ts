// The API's shapes, as openapi.yaml documents them (the fields the console uses).

export interface Webhook {
  id: string;
  name: string;
  url: string;
  event_types: string[];
  format: "form" | "json";
  active: boolean;
  verify_ssl: boolean;
  signing: boolean;
  max_events_per_request: number;
  state: "active" | "disabled" | "failing";
  disabled_reason: string | null;
  last_triggered_at: string | null;
  created_at: string;
  retry_schedule: string[] | null;
  max_in_flight: number;
  concurrency: "adaptive" | "fixed";
  rate_limit_per_sec: number | null;
  failing_since: string | null;
  disabled_at: string | null;
  signature_scheme: "hrflow" | "standard" | "both";
  previous_secret_expires_at: string | null;
  secret?: string;
}

export interface EventType {
  name: string;
  entity: string;
  description: string;
  volume: string;
  example: Record<string, unknown> | null;
  builtin: boolean;
}

export interface HistoryEntry {
  id: string;
  webhook_id: string;
  event_id: string | null;
  event_type: string;
  event_ids: string[];
  url: string;
  request: { headers: Record<string, string>; body: string; body_truncated: boolean; body_size: number };
  response: { status: number | null; headers: Record<string, string>; body: string; body_truncated: boolean };
  duration_ms: number;
  error: string | null;
  attempt: number;
  trigger: "auto" | "resend" | "test";
  sent_at: string;
}

export interface Event {
  id: string;
  type: string;
  payload: Record<string, unknown>;
  created_at: string;
}

export interface Delivery {
  id: string;
  event_id: string;
  webhook_id: string;
  status: "pending" | "delivering" | "succeeded" | "failed" | "dead";
  attempts: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
}

export interface Token {
  id: string;
  name: string;
  scopes: string[];
  created_at: string;
  last_used_at: string | null;
  token?: string;
}

export interface Organization {
  id: string;
  name: string;
}

/** `GET /v1/stats` (see openapi.yaml). */
export interface Stats {
  organization_id: string;
  generated_at: string;
  window: { from: string; to: string };
  per_minute: { minute: string; succeeded: number; failed: number }[];
  last_24h: { succeeded: number; failed: number; success_rate: number | null };
  queue: { pending: number; delivering: number; failed: number; dead: number; succeeded: number };
  oldest_pending_at: string | null;
  webhooks: {
    total: number;
    active: number;
    failing: { id: string; name: string; url: string; state: string }[];
    disabled: { id: string; name: string; url: string; state: string }[];
  };
  tables: { name: string; rows: number; oldest_at: string | null }[];
  retention: { days: number; last_run_at: string | null; deleted: { history: number; deliveries: number; events: number } };
}

/** Every scope a token can hold, in the API's order, with what it allows. */
export const SCOPES: [string, string][] = [
  ["events:write", "publish events"],
  ["webhooks:read", "see web hooks and event types"],
  ["webhooks:write", "add, change and check web hooks"],
  ["history:read", "see history, events and deliveries"],
  ["history:resend", "re-send from history"],
  ["integrations:run", "see and run integrations"],
  ["integrations:write", "change integrations and people"],
  ["admin", "everything in this organization, tokens included"],
  ["platform", "everything in every organization"],
];
