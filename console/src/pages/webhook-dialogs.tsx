// The web hook dialogs: add / edit (name and URL), Delete, and
// enable / disable (re-enabling an auto-disabled one offers recovery).
import { useState } from "preact/hooks";
import { ApiError, del, get, Page, patch, post, seg } from "../api";
import { EventType, Webhook, WebhookWithSecret } from "../types";
import { fmtDate, Loading } from "../ui/bits";
import { Check, Field, fieldError, formError, val } from "../ui/form";
import { Confirm, Dialog } from "../ui/dialog";
import { asApiError, useLoad } from "../ui/load";
import { EventTypePicker } from "./event-types";
import { FILTER_HINT } from "./webhook-options";

export function WebhookForm(p: { hook?: Webhook; onClose: (changed: boolean) => void; onCreated?: (h: Webhook) => void }) {
  const editing = !!p.hook;
  const [name, setName] = useState(p.hook?.name ?? "");
  const [url, setUrl] = useState(p.hook?.url ?? "");
  const [types, setTypes] = useState<string[]>([]);
  const [filter, setFilter] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const catalogue = useLoad(() => (editing ? Promise.resolve(null) : get<Page<EventType>>("/v1/event-types")), []);
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (editing) {
        await patch(`/v1/webhooks/${seg(p.hook!.id)}`, { name, url });
        p.onClose(true);
      } else {
        const h = await post<WebhookWithSecret>("/v1/webhooks", { name, url, event_types: types, filter: filter.trim() || null });
        p.onClose(true);
        p.onCreated?.(h);
      }
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };
  const fields = ["name", "url", "event_types", "filter"];
  return (
    <Dialog title={editing ? `Edit ${p.hook!.name}` : "Add a web hook"} onClose={() => p.onClose(false)} wide={!editing}>
      <form onSubmit={save} id="webhook-form" noValidate>
        <Field label="Name" id="wh-name" error={fieldError(error, "name")}>
          <input id="wh-name" required autoFocus value={name} onInput={(e) => setName(val(e))} />
        </Field>
        <Field label="URL" id="wh-url" error={fieldError(error, "url")} hint="The https URL the requests are sent to.">
          <input id="wh-url" type="url" required placeholder="https://" value={url} onInput={(e) => setUrl(val(e))} />
        </Field>
        {!editing && (
          <fieldset class="types-fieldset">
            <legend>Event types</legend>
            {fieldError(error, "event_types") && (
              <p class="field-error" role="alert">
                {fieldError(error, "event_types")}
              </p>
            )}
            {catalogue.data ? (
              <EventTypePicker types={catalogue.data.data} selected={types} onChange={setTypes} compact />
            ) : (
              <Loading />
            )}
          </fieldset>
        )}
        {!editing && (
          <Field label="Filter (optional)" id="wh-filter" error={fieldError(error, "filter")} hint={FILTER_HINT}>
            <input id="wh-filter" value={filter} placeholder="every subscribed event" spellcheck={false} onInput={(e) => setFilter(val(e))} />
          </Field>
        )}
        {formError(error, fields) && <p class="error" role="alert">{formError(error, fields)}</p>}
        <div class="dialog-actions inline">
          <button type="button" onClick={() => p.onClose(false)}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy || (!editing && types.length === 0)}>
            Save
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function DeleteWebhook(p: { hook: Webhook; onClose: (changed: boolean) => void; onDeleted?: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <Confirm
      title={`Delete ${p.hook.name}?`}
      action="Delete"
      busy={busy}
      error={error}
      onClose={() => p.onClose(false)}
      onConfirm={async () => {
        setBusy(true);
        try {
          await del(`/v1/webhooks/${seg(p.hook.id)}`);
          p.onClose(true);
          p.onDeleted?.();
        } catch (e) {
          setError(asApiError(e).shown);
          setBusy(false);
        }
      }}
    >
      <p>
        Its pending deliveries are dropped and it receives nothing more. Its history is kept. This cannot be
        undone.
      </p>
    </Confirm>
  );
}

/** A `datetime-local` value (the browser's zone, to the second). */
export const toLocal = (d: Date) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 19);

/** Whether hookrelay disabled it (410, failing too long), not an operator. */
export const autoDisabled = (h: Webhook) => !h.active && !!h.disabled_reason && !/by an operator/.test(h.disabled_reason);

export function EnableWebhook(p: { hook: Webhook; onClose: (changed: boolean) => void }) {
  const h = p.hook;
  const auto = autoDisabled(h);
  // What failed since it was disabled: deliveries of events published from
  // a minute before its run of failures began (the first failed delivery
  // was created just before its attempt set `failing_since`). Editable.
  const start = h.failing_since ?? h.disabled_at;
  const [since, setSince] = useState(start ? toLocal(new Date(new Date(start).getTime() - 60000)) : "");
  const [recover, setRecover] = useState(auto && !!start);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const run = async () => {
    if (!h.active && recover && !since) {
      setError("Pick the time to recover from.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await patch(`/v1/webhooks/${seg(h.id)}`, { active: !h.active });
      if (!h.active && recover && since) {
        const r = await post<{ requeued: number }>(`/v1/webhooks/${seg(h.id)}/recover`, { since: new Date(since).toISOString() });
        setDone(`Enabled. ${r.requeued} failed ${r.requeued === 1 ? "delivery was" : "deliveries were"} queued again.`);
        setBusy(false);
        return;
      }
      p.onClose(true);
    } catch (e) {
      setError(asApiError(e).shown);
      setBusy(false);
    }
  };
  if (done)
    return (
      <Dialog title={`${h.name} is enabled`} onClose={() => p.onClose(true)} actions={<button type="button" class="primary" onClick={() => p.onClose(true)}>Done</button>}>
        <p role="status">{done}</p>
      </Dialog>
    );
  return (
    <Dialog
      title={h.active ? `Disable ${h.name}?` : `Enable ${h.name}?`}
      onClose={() => p.onClose(false)}
      actions={
        <>
          <button type="button" onClick={() => p.onClose(false)}>
            Cancel
          </button>
          <button type="button" class={h.active ? "danger" : "primary"} disabled={busy} onClick={run}>
            {h.active ? "Disable" : "Enable"}
          </button>
        </>
      }
    >
      {h.active ? (
        <p>It receives no deliveries while disabled, and its pending and failed deliveries are given up (you can recover them later).</p>
      ) : (
        <>
          <p>
            Disabled {h.disabled_at ? `on ${fmtDate(new Date(h.disabled_at))}` : ""}: {h.disabled_reason ?? "by an operator"}.
          </p>
          {start && (
            <Check
              id="recover"
              checked={recover}
              onChange={setRecover}
              label="Recover what failed since it was disabled"
              hint="send its failed and dead deliveries again"
            />
          )}
          {start && recover && (
            <Field label="Of events published since" id="recover-since" hint={`It started failing at ${fmtDate(new Date(start))}.`}>
              <input id="recover-since" type="datetime-local" step={1} value={since} onInput={(e) => setSince(val(e))} />
            </Field>
          )}
        </>
      )}
      {error && <p class="error" role="alert">{error}</p>}
    </Dialog>
  );
}
