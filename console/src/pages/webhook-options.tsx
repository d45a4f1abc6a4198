// The Options panel: how requests are sent (verify SSL, signing and its
// scheme, data format, max events per request, retry schedule, max in
// flight), the content filter with Test filter, and the signing secret,
// revealed on demand, with Rotate.
import { useEffect, useState } from "preact/hooks";
import { ApiError, api, post, seg, patch } from "../api";
import { Webhook, WebhookSecret, WebhookWithSecret } from "../types";
import { Secret, When } from "../ui/bits";
import { Check, Field, fieldError, formError, val } from "../ui/form";
import { Dialog } from "../ui/dialog";
import { asApiError } from "../ui/load";
import { FilterTestDialog } from "./filter-test";

interface Form {
  verify_ssl: boolean;
  signing: boolean;
  signature_scheme: string;
  format: string;
  max_events_per_request: string;
  retry_schedule: string;
  max_in_flight: string;
  filter: string;
}

const fromHook = (h: Webhook): Form => ({
  verify_ssl: h.verify_ssl,
  signing: h.signing,
  signature_scheme: h.signature_scheme,
  format: h.format,
  max_events_per_request: String(h.max_events_per_request),
  retry_schedule: h.retry_schedule ? h.retry_schedule.join(", ") : "",
  max_in_flight: String(h.max_in_flight),
  filter: h.filter ?? "",
});

export function Options({ hook, onSaved, write }: { hook: Webhook; onSaved: () => void; write: boolean }) {
  const [f, setF] = useState<Form>(fromHook(hook));
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);
  const [testing, setTesting] = useState(false);
  useEffect(() => setF(fromHook(hook)), [hook]);
  const set = (k: keyof Form) => (v: string | boolean) => setF({ ...f, [k]: v });
  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const sched = f.retry_schedule.trim();
    try {
      await patch(`/v1/webhooks/${seg(hook.id)}`, {
        verify_ssl: f.verify_ssl,
        signing: f.signing,
        signature_scheme: f.signature_scheme,
        format: f.format,
        max_events_per_request: Number(f.max_events_per_request),
        // Empty: the deployment's HOOKRELAY_RETRY_SCHEDULE.
        retry_schedule: sched ? sched.split(/[,\s]+/).filter(Boolean) : null,
        max_in_flight: Number(f.max_in_flight),
        // Empty: no filter, every subscribed event is delivered.
        filter: f.filter.trim() || null,
      });
      setSaved(true);
      setTimeout(() => setSaved(false), 2000);
      onSaved();
    } catch (err) {
      setError(asApiError(err));
    }
  };
  const names = ["verify_ssl", "signing", "signature_scheme", "format", "max_events_per_request", "retry_schedule", "max_in_flight", "filter"];
  const dis = !write;
  return (
    <section class="card panel" aria-labelledby="options-title">
      <form onSubmit={save} noValidate>
        <div class="panel-head">
          <h2 id="options-title">Options</h2>
          {write && (
            <button type="submit" class="primary">
              Save
            </button>
          )}
        </div>
        {saved && <p role="status" class="ok-note">Saved.</p>}
        <Check id="opt-ssl" label="Verify SSL" hint="refuse invalid TLS certificates" checked={f.verify_ssl} onChange={set("verify_ssl")} disabled={dis} />
        <Check id="opt-signing" label="Signing" hint="sign every request with the secret" checked={f.signing} onChange={set("signing")} disabled={dis} />
        <div class="grid2">
          <Field label="Signature headers" id="opt-scheme" error={fieldError(error, "signature_scheme")} hint={schemeHint(f.signature_scheme)}>
            <select id="opt-scheme" value={f.signature_scheme} disabled={dis || !f.signing} onChange={(e) => set("signature_scheme")(val(e))}>
              <option value="both">HrFlow and Standard Webhooks</option>
              <option value="hrflow">HrFlow (HTTP-HRFLOW-SIGNATURE)</option>
              <option value="standard">Standard Webhooks</option>
              <option value="hrflow_sdk">HrFlow SDK (signed request)</option>
              <option value="signed_request">HrFlow PHP sample (signed request)</option>
            </select>
          </Field>
          <Field label="Data format" id="opt-format" error={fieldError(error, "format")} hint={formatHint(f.format, f.signing, f.signature_scheme)}>
            <select id="opt-format" value={f.format} disabled={dis} onChange={(e) => set("format")(val(e))}>
              <option value="form">Form (application/x-www-form-urlencoded)</option>
              <option value="json">JSON</option>
            </select>
          </Field>
          <Field label="Max events per request" id="opt-max" error={fieldError(error, "max_events_per_request")} hint="Above 1 needs the JSON format.">
            <input id="opt-max" type="number" min={1} max={1000} value={f.max_events_per_request} disabled={dis} onInput={(e) => set("max_events_per_request")(val(e))} />
          </Field>
          <Field label="Max in flight" id="opt-inflight" error={fieldError(error, "max_in_flight")} hint="Requests open at once, per process.">
            <input id="opt-inflight" type="number" min={1} max={1000} value={f.max_in_flight} disabled={dis} onInput={(e) => set("max_in_flight")(val(e))} />
          </Field>
        </div>
        <Field label="Retry schedule" id="opt-retry" error={fieldError(error, "retry_schedule")} hint="Delays after each failed attempt, e.g. 30s, 5m, 2h. Empty: the server's default.">
          <input id="opt-retry" value={f.retry_schedule} placeholder="server default" disabled={dis} onInput={(e) => set("retry_schedule")(val(e))} />
        </Field>
        <Field label="Filter" id="opt-filter" error={fieldError(error, "filter")} hint={FILTER_HINT}>
          <input id="opt-filter" value={f.filter} placeholder="every subscribed event" spellcheck={false} disabled={dis} onInput={(e) => set("filter")(val(e))} />
        </Field>
        <div class="button-row">
          <button type="button" disabled={!f.filter.trim()} onClick={() => setTesting(true)}>
            Test filter
          </button>
        </div>
        {formError(error, names) && <p class="error" role="alert">{formError(error, names)}</p>}
      </form>
      {testing && <FilterTestDialog filter={f.filter.trim()} subscribed={hook.event_types} onClose={() => setTesting(false)} />}
      {write && <SecretBox hook={hook} onRotated={onSaved} />}
    </section>
  );
}

function SecretBox({ hook, onRotated }: { hook: Webhook; onRotated: () => void }) {
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [rotating, setRotating] = useState(false);
  const reveal = async () => {
    try {
      const s = await api<WebhookSecret>("GET", `/v1/webhooks/${seg(hook.id)}/secret`);
      setSecret(s.secret);
    } catch (e) {
      setError(asApiError(e).shown);
    }
  };
  return (
    <div class="secret-box">
      <h3>Signing secret</h3>
      {secret ? (
        <Secret value={secret} label="Signing secret" />
      ) : (
        <p class="muted">Hidden. Whoever has it can sign requests as hookrelay.</p>
      )}
      {hook.previous_secret_expires_at && (
        <p class="hint">
          The previous secret signs too until <When at={hook.previous_secret_expires_at} />.
        </p>
      )}
      <div class="button-row">
        {secret ? (
          <button type="button" onClick={() => setSecret(null)}>
            Hide
          </button>
        ) : (
          <button type="button" onClick={reveal}>
            Reveal
          </button>
        )}
        <button type="button" onClick={() => setRotating(true)}>
          Rotate
        </button>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      {rotating && (
        <Rotate
          hook={hook}
          onClose={(s) => {
            setRotating(false);
            if (s) {
              setSecret(s);
              onRotated();
            }
          }}
        />
      )}
    </div>
  );
}

function Rotate({ hook, onClose }: { hook: Webhook; onClose: (secret: string | null) => void }) {
  const [grace, setGrace] = useState("24h");
  const [error, setError] = useState<ApiError | null>(null);
  const go = async () => {
    try {
      const h = await post<WebhookWithSecret>(`/v1/webhooks/${seg(hook.id)}/rotate-secret`, { grace_period: grace });
      onClose(h.secret ?? null);
    } catch (e) {
      setError(asApiError(e));
    }
  };
  return (
    <Dialog
      title="Rotate the signing secret"
      onClose={() => onClose(null)}
      actions={
        <>
          <button type="button" onClick={() => onClose(null)}>
            Cancel
          </button>
          <button type="button" class="primary" onClick={go}>
            Rotate
          </button>
        </>
      }
    >
      <p>A new secret signs every request from now on. During the grace period the old one signs too, so receivers can switch without dropping requests.</p>
      <Field label="Grace period" id="grace" error={fieldError(error, "grace_period")} hint="e.g. 24h, 7d; 0s drops the old secret at once.">
        <input id="grace" autoFocus value={grace} onInput={(e) => setGrace(val(e))} />
      </Field>
      {formError(error, ["grace_period"]) && <p class="error" role="alert">{formError(error, ["grace_period"])}</p>}
    </Dialog>
  );
}

/** The filter field's hint (docs/api.md, "Content filters"). */
export const FILTER_HINT =
  "A JSONPath query (RFC 9535) on [event]: only events it selects are delivered, e.g. $[?@.profile.source.key == 'src1'] or $[?match(@.message, 'profile (parsing|storing) .*')]. Empty: every event.";

/** What a receiver of the scheme needs to know; signed requests carry the event in a header. */
function schemeHint(scheme: string): string | undefined {
  if (scheme === "hrflow_sdk" || scheme === "signed_request") {
    return "The header carries the event: events over about 6 KB of JSON are not sent (8 KiB header limit).";
  }
  return undefined;
}

/** Why the format matters to the receiver's library (docs/signatures.md):
 * Standard Webhooks libraries verify a form body, then fail parsing it as JSON. */
function formatHint(format: string, signing: boolean, scheme: string): string {
  if (format !== "form") return "The event as JSON: what Standard Webhooks libraries (Svix, standardwebhooks) expect.";
  if (!signing || scheme === "hrflow" || scheme === "hrflow_sdk" || scheme === "signed_request") return "Form fields, as HrFlow receivers expect.";
  return "Form fields, as HrFlow receivers expect. Standard Webhooks libraries (Svix, standardwebhooks) verify the signature, then fail to parse a form body as JSON: choose JSON for them.";
}
