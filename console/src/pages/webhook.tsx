// One web hook: its state and actions, the Event Types panel, the
// Options panel (with the signing secret) and Check.
import { useEffect, useState } from "preact/hooks";
import { ApiError, get, Page, patch, seg } from "../api";
import { go } from "../router";
import { can } from "../session";
import { EventType, Webhook } from "../types";
import { Badge, ErrorNote, Loading, When } from "../ui/bits";
import { formError } from "../ui/form";
import { asApiError, useLoad } from "../ui/load";
import { CheckDialog } from "./check";
import { EventTypePicker } from "./event-types";
import { Options } from "./webhook-options";
import { autoDisabled, DeleteWebhook, EnableWebhook, WebhookForm } from "./webhook-dialogs";

export function WebhookDetail({ params }: { params: Record<string, string> }) {
  const id = params.id;
  const hook = useLoad(() => get<Webhook>(`/v1/webhooks/${seg(id)}`), [id]);
  const [open, setOpen] = useState<null | "edit" | "delete" | "enable" | "check">(null);
  const write = can("webhooks:write");
  if (hook.error) return <ErrorNote error={hook.error.status === 404 ? "This web hook does not exist (any more)." : hook.error} />;
  if (!hook.data) return <Loading />;
  const h = hook.data;
  const close = (changed: boolean) => {
    setOpen(null);
    if (changed) hook.reload();
  };
  return (
    <section>
      <p class="crumbs">
        <a href="#/webhooks">Web hooks</a> /
      </p>
      <div class="page-head">
        <h1>
          {h.name} <Badge value={h.state} />
        </h1>
        {write && (
          <div class="head-actions">
            <button type="button" class="primary" onClick={() => setOpen("check")}>
              Check
            </button>
            <button type="button" onClick={() => setOpen("edit")}>
              Edit
            </button>
            <button type="button" onClick={() => setOpen("enable")}>
              {h.active ? "Disable" : "Enable"}
            </button>
            <button type="button" class="danger-text" onClick={() => setOpen("delete")}>
              Delete
            </button>
          </div>
        )}
      </div>
      <dl class="facts">
        <div>
          <dt>URL</dt>
          <dd>
            <code>{h.url}</code>
          </dd>
        </div>
        <div>
          <dt>Last triggered</dt>
          <dd>
            <When at={h.last_triggered_at} />
          </dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>
            <When at={h.created_at} />
          </dd>
        </div>
        <div>
          <dt>History</dt>
          <dd>
            <a href={`#/history?webhook_id=${encodeURIComponent(h.id)}`}>Requests sent to this web hook</a>
          </dd>
        </div>
      </dl>
      {h.state === "disabled" && (
        <p class={autoDisabled(h) ? "notice warn" : "notice"}>
          Disabled: {h.disabled_reason}. {autoDisabled(h) && write && "Enable it to recover what failed since."}
        </p>
      )}
      {h.state === "failing" && h.failing_since && (
        <p class="notice warn">
          Failing since <When at={h.failing_since} />; hookrelay keeps retrying and disables it if it keeps failing.
        </p>
      )}
      <div class="panels">
        <TypesPanel hook={h} onSaved={hook.reload} write={write} />
        <Options hook={h} onSaved={hook.reload} write={write} />
      </div>
      {open === "edit" && <WebhookForm hook={h} onClose={close} />}
      {open === "enable" && <EnableWebhook hook={h} onClose={close} />}
      {open === "delete" && <DeleteWebhook hook={h} onClose={close} onDeleted={() => go("/webhooks")} />}
      {open === "check" && <CheckDialog hook={h} onClose={() => close(true)} />}
    </section>
  );
}

function TypesPanel({ hook, onSaved, write }: { hook: Webhook; onSaved: () => void; write: boolean }) {
  const catalogue = useLoad(() => get<Page<EventType>>("/v1/event-types"), []);
  const [sel, setSel] = useState(hook.event_types);
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => setSel(hook.event_types), [hook.event_types.join(",")]);
  const dirty = sel.slice().sort().join(",") !== hook.event_types.slice().sort().join(",");
  const save = async () => {
    setError(null);
    try {
      await patch(`/v1/webhooks/${seg(hook.id)}`, { event_types: sel });
      setSaved(true);
      setTimeout(() => setSaved(false), 2000);
      onSaved();
    } catch (e) {
      setError(asApiError(e));
    }
  };
  return (
    <section class="card panel" aria-labelledby="types-title">
      <div class="panel-head">
        <h2 id="types-title">Event Types</h2>
        {write && (
          <button type="button" class="primary" disabled={!dirty || sel.length === 0} onClick={save}>
            Save
          </button>
        )}
      </div>
      <p class="muted">What this web hook is sent. Click ? for a type's example payload.</p>
      {saved && <p role="status" class="ok-note">Saved.</p>}
      {sel.length === 0 && <p class="field-error">Pick at least one event type.</p>}
      {error && <p class="error" role="alert">{formError(error, []) ?? error.message}</p>}
      <ErrorNote error={catalogue.error} />
      {catalogue.data && <EventTypePicker types={catalogue.data.data} selected={sel} onChange={setSel} disabled={!write} />}
    </section>
  );
}
