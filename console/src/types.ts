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
  signature_scheme: "hrflow" | "standard" | "both" | "hrflow_sdk" | "signed_request";
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
  /** In a list, `body` is an excerpt (`body_excerpt`); `GET /v1/history/{id}` has it as kept. */
  request: { headers: Record<string, string>; body: string; body_truncated: boolean; body_excerpt: boolean; body_size: number };
  response: { status: number | null; headers: Record<string, string>; body: string; body_truncated: boolean; body_excerpt: boolean };
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
  /** `rows`: the organization's own (capped); `database_rows`: every organization's, for a platform token only. */
  tables: { name: string; rows: number; rows_capped: boolean; database_rows: number | null; oldest_at: string | null }[];
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

/** An integration (`GET /v1/integrations/{id}`); never its secrets. */
export interface Integration {
  id: string;
  name: string;
  kind: "webhook" | "sync_users";
  manifest: Record<string, any>;
  triggers: { event_type: string; form: Record<string, unknown> }[];
  config: { set: string[]; missing: string[] };
  oauth: { configured: boolean; connected: boolean };
  next_sync_at: string | null;
  warnings: unknown[];
  created_at: string;
  updated_at: string;
}

/** `GET /v1/integrations/{id}/config`: which `initial_data_form` items are set. */
export interface ConfigItem {
  id: string;
  name: string | null;
  description: string | null;
  generated: boolean;
  set: boolean;
}

/** One item of `GET /v1/integrations/{id}/form`, options resolved. */
export interface FormItem {
  id: string;
  name?: string;
  type?: string;
  description?: string;
  options?: { value: unknown; name: string }[];
  /** Why the options could not be fetched. */
  error?: string;
}

export interface RunStep {
  position: number;
  label: string;
  url: string;
  method: string;
  request_headers: Record<string, string> | null;
  request_body: string;
  status: number | null;
  response_body: string;
  response_truncated: boolean;
  duration_ms: number;
  error: string | null;
}

export interface Run {
  id: string;
  integration_id: string;
  user_id: string | null;
  kind: string;
  status: string;
  form: Record<string, unknown> | null;
  triggered_by: string;
  attempt: number;
  next_run_at: string | null;
  error: string | null;
  result: any;
  rerun_of: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  dry_run: boolean;
  only: string[] | null;
  steps?: RunStep[];
}

/** A person (`/v1/users`). */
export interface User {
  id: string;
  email: string;
  first_name: string;
  last_name: string;
  position: string;
  department: string;
  start_date: string | null;
  phone: string;
  manager_id: string | null;
  buddy_id: string | null;
  extra_fields: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

/** One row of `GET /v1/users/{id}/access`. */
export interface Access {
  integration_id: string;
  name: string;
  access: unknown;
  can_revoke: boolean;
  run_id: string;
}

/** One candidate of an import preview (a dry run's `result.candidates`). */
export interface Candidate {
  email: string;
  mark: "new" | "update" | "skipped";
  record: Record<string, unknown>;
  user_id?: string;
  changes?: Record<string, { old: unknown; new: unknown }>;
  reason?: string;
}
