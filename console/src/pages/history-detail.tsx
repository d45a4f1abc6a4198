// One attempt: the request and the response, headers and bodies (JSON
// pretty-printed, form bodies as fields), with Re-send.
import { get, post, seg } from "../api";
import { can } from "../session";
import { HistoryEntry } from "../types";
import { Body, ErrorNote, Headers, Loading, Result, When } from "../ui/bits";
import { Dialog } from "../ui/dialog";
import { useAction, useLoad } from "../ui/load";

/** The request and the response of an attempt, side by side. */
export function Exchange({ entry }: { entry: HistoryEntry }) {
  const ct = Object.entries(entry.request.headers).find(([k]) => k.toLowerCase() === "content-type")?.[1];
  const rct = Object.entries(entry.response.headers).find(([k]) => k.toLowerCase() === "content-type")?.[1];
  return (
    <div class="exchange">
      <section class="half">
        <h3>Request</h3>
        <p class="muted">
          POST <code>{entry.url}</code>
        </p>
        <Headers headers={entry.request.headers} />
        <h4>Body {entry.request.body_truncated && <span class="muted">(first 64 KiB of {entry.request.body_size} bytes)</span>}</h4>
        <Body body={entry.request.body} contentType={ct} />
      </section>
      <section class="half">
        <h3>
          Response <Result status={entry.response.status} error={entry.error} />{" "}
          <span class="muted">{entry.duration_ms} ms</span>
        </h3>
        {entry.error && <p class="error">{entry.error}</p>}
        {entry.response.status !== null && (
          <>
            <Headers headers={entry.response.headers} />
            <h4>Body {entry.response.body_truncated && <span class="muted">(cut at 64 KiB)</span>}</h4>
            <Body body={entry.response.body} contentType={rct} />
          </>
        )}
      </section>
    </div>
  );
}

export function HistoryDetail({ entry, onClose, onResent }: { entry: HistoryEntry; onClose: () => void; onResent: (e: HistoryEntry) => void }) {
  // A list row carries only excerpts of the bodies: the attempt itself
  // has them as kept.
  const full = useLoad(() => get<HistoryEntry>(`/v1/history/${seg(entry.id)}`), [entry.id]);
  const { busy, error, run } = useAction();
  const resend = () => run(async () => onResent(await post<HistoryEntry>(`/v1/history/${seg(entry.id)}/resend`)));
  return (
    <Dialog
      title={`${entry.event_type} → ${entry.url}`}
      onClose={onClose}
      wide
      actions={
        <>
          {error && <span class="error" role="alert">{error.shown}</span>}
          <button type="button" onClick={onClose}>
            Close
          </button>
          {can("history:resend") && (
            <button type="button" class="primary" disabled={busy} onClick={resend}>
              Re-send
            </button>
          )}
        </>
      }
    >
      <dl class="facts small">
        <div>
          <dt>Sent at</dt>
          <dd>
            <When at={entry.sent_at} />
          </dd>
        </div>
        <div>
          <dt>Trigger</dt>
          <dd>
            {entry.trigger}, attempt {entry.attempt}
          </dd>
        </div>
        <div>
          <dt>Web hook</dt>
          <dd>
            <a href={`#/webhooks/${entry.webhook_id}`}>{entry.webhook_id}</a>
          </dd>
        </div>
        <div>
          <dt>Event</dt>
          <dd>{entry.event_ids.length ? entry.event_ids.join(", ") : "test payload"}</dd>
        </div>
      </dl>
      <ErrorNote error={full.error} />
      {full.data ? <Exchange entry={full.data} /> : !full.error && <Loading />}
    </Dialog>
  );
}
