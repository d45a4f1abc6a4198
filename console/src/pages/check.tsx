// Check: sends an event type's example payload to the web hook now and
// shows the request and the receiver's response.
import { useState } from "preact/hooks";
import { get, Page, post, seg } from "../api";
import { EventType, HistoryEntry, Webhook } from "../types";
import { ErrorNote } from "../ui/bits";
import { Dialog } from "../ui/dialog";
import { Field, val } from "../ui/form";
import { useAction, useLoad } from "../ui/load";
import { covered } from "./event-types";
import { Exchange } from "./history-detail";

/** An event type with an example to pick (by default the first one the
 * web hook subscribes to): the one chosen, and its field. */
export function useExampleType(subscribed: string[], id: string) {
  const types = useLoad(() => get<Page<EventType>>("/v1/event-types"), []);
  const [type, setType] = useState("");
  const list = types.data?.data.filter((t) => t.example) ?? [];
  const first = list.find((t) => covered(subscribed, t.name))?.name ?? list[0]?.name ?? "";
  const chosen = type || first;
  const field = (
    <>
      <ErrorNote error={types.error} />
      <Field label="Event type" id={id}>
        <select id={id} value={chosen} onChange={(e) => setType(val(e))}>
          {list.map((t) => (
            <option value={t.name}>{t.name}</option>
          ))}
        </select>
      </Field>
    </>
  );
  return { chosen, field };
}

export function CheckDialog({ hook, onClose }: { hook: Webhook; onClose: () => void }) {
  const { chosen, field } = useExampleType(hook.event_types, "check-type");
  const [result, setResult] = useState<HistoryEntry | null>(null);
  const { busy, error, run } = useAction();
  const send = () => run(async () => setResult(await post<HistoryEntry>(`/v1/webhooks/${seg(hook.id)}/test`, { event_type: chosen })));
  return (
    <Dialog
      title={`Check ${hook.name}`}
      onClose={onClose}
      wide
      actions={
        <>
          <button type="button" onClick={onClose}>
            Close
          </button>
          <button type="button" class="primary" disabled={busy || !chosen} onClick={send}>
            {busy ? "Sending…" : "Check"}
          </button>
        </>
      }
    >
      <p>Sends the example payload of an event type to {hook.url} now, signed as usual, and shows what came back.</p>
      {field}
      {error && <p class="error" role="alert">{error.shown}</p>}
      {result && (
        <div class="check-result" aria-live="polite">
          <Exchange entry={result} />
        </div>
      )}
    </Dialog>
  );
}
