// The API's shapes, named for the pages. They are aliases of the schemas in
// api-types.ts, which is generated from openapi.yaml (`npm run types` in
// console/; never edit it by hand), so the console follows the contract.
import type { components } from "./api-types";

type Schemas = components["schemas"];

export type Webhook = Schemas["Webhook"];
/** A web hook as created or rotated: with its signing secret. */
export type WebhookWithSecret = Schemas["WebhookWithSecret"];
/** `GET /v1/webhooks/{id}/secret`. */
export type WebhookSecret = Schemas["WebhookSecret"];
export type FilterTestResult = Schemas["FilterTestResult"];
export type EventType = Schemas["EventType"];
export type HistoryEntry = Schemas["HistoryEntry"];
export type Event = Schemas["Event"];
export type Delivery = Schemas["Delivery"];

/** A token scope; a misspelt one fails `tsc`. */
export type Scope = Schemas["Scope"];
export type Token = Schemas["Token"];
/** A token as created: with the token itself, shown once. */
export type NewToken = Schemas["NewToken"];
/** `GET /v1/me`. */
export type Me = Schemas["Me"];

/** The organization a request acts in (`GET /v1/organization`). */
export type Organization = Schemas["Organization"];
/** One organization of `GET /v1/organizations` (platform tokens). */
export type OrganizationEntry = Schemas["OrganizationEntry"];

/** `GET /v1/stats`. */
export type Stats = Schemas["Stats"];

/** What each scope allows, in the API's order; one entry for every scope. */
const SCOPE_TEXT: Record<Scope, string> = {
  "events:write": "publish events",
  "webhooks:read": "see web hooks and event types",
  "webhooks:write": "add, change and check web hooks",
  "history:read": "see history, events and deliveries",
  "history:resend": "re-send from history",
  "integrations:run": "see and run integrations",
  "integrations:write": "change integrations and people",
  admin: "everything in this organization, tokens included",
  platform: "everything in every organization",
};

/** Every scope a token can hold, in the API's order, with what it allows. */
export const SCOPES = Object.entries(SCOPE_TEXT) as [Scope, string][];

/** An integration (`GET /v1/integrations/{id}`); never its secrets. */
export type Integration = Schemas["Integration"];
/** One item of `GET /v1/integrations/{id}/config`: which `initial_data_form` items are set. */
export type ConfigItem = Schemas["ConfigItems"]["items"][number];
/** One item of `GET /v1/integrations/{id}/form`, options resolved. */
export type FormItem = Schemas["Form"]["items"][number];
export type Run = Schemas["Run"];
export type RunStep = Schemas["RunStep"];

/** A person (`/v1/users`). */
export type User = Schemas["User"];
/** One row of `GET /v1/users/{id}/access`. */
export type Access = Schemas["AccessReport"]["data"][number];

// A sync run's `result`: openapi.yaml describes it in prose only
// (`POST /v1/integrations/{id}/runs`), so these two are written by hand.

/** One candidate of an import preview (a dry run's `result.candidates`). */
export interface Candidate {
  email: string;
  mark: "new" | "update" | "skipped";
  record: Record<string, unknown>;
  user_id?: string;
  changes?: Record<string, { old: unknown; new: unknown }>;
  reason?: string;
}

/** The `result` of a `sync` run: a dry run's candidates and counts, or how many records a sync fetched. */
export interface SyncResult {
  candidates?: Candidate[];
  counts?: { new: number; update: number; skipped: number };
  /** What a sync run stored: `records`, how many the HR system answered. */
  stored?: { records?: number };
}
