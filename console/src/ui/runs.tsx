// The runs of an integration or a person: status, trigger, duration; a
// row expands to the step log (request and response, as stored: masked
// by the server); Re-run.
import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { get, Page, post, seg } from "../api";
import { can } from "../session";
import { Run } from "../types";
import { Badge, Body, Empty, ErrorNote, Headers, Loading, When } from "./bits";
import { asApiError, useLoad } from "./load";

/** Milliseconds between start and finish, as "1.2 s" (blank while running). */
export function duration(r: Run): string {
  if (!r.started_at || !r.finished_at) return "";
  const ms = new Date(r.finished_at).getTime() - new Date(r.started_at).getTime();
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** `filter`: `{integration_id}` or `{user_id}`; `reloadKey` reloads the list when it changes. */
export function Runs(p: { filter: Record<string, string>; reloadKey?: unknown; names?: Record<string, string> }) {
  const list = useLoad(() => get<Page<Run>>("/v1/runs", { ...p.filter, limit: 50 }), [JSON.stringify(p.filter), p.reloadKey]);
  const [open, setOpen] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const rerun = async (r: Run) => {
    setError(null);
    try {
      await post(`/v1/runs/${seg(r.id)}/rerun?wait=true`, undefined);
      list.reload();
    } catch (e) {
      setError(asApiError(e).shown);
    }
  };
  if (list.loading && !list.data) return <Loading />;
  if (list.error) return <ErrorNote error={list.error} />;
  const rows = list.data?.data ?? [];
  if (rows.length === 0) return <Empty title="No runs yet.">Run an integration for a person, or preview an import.</Empty>;
  return (
    <>
      <ErrorNote error={error} />
      <table class="table">
        <caption class="sr-only">Runs</caption>
        <thead>
          <tr>
            <th scope="col">Started</th>
            {p.names && <th scope="col">Integration</th>}
            <th scope="col">Kind</th>
            <th scope="col">Status</th>
            <th scope="col">Trigger</th>
            <th scope="col" class="num">Duration</th>
            <th scope="col" class="actions">Actions</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <Fragment key={r.id}>
              <tr>
                <td>
                  <When at={r.started_at ?? r.created_at} />
                </td>
                {p.names && <td>{p.names[r.integration_id] ?? r.integration_id}</td>}
                <td>
                  {r.kind}
                  {r.dry_run && <span class="muted"> (preview)</span>}
                </td>
                <td>
                  <Badge value={r.status} />
                  {r.error && <span class="muted" title={r.error}> {r.error.slice(0, 60)}</span>}
                </td>
                <td>{r.triggered_by}</td>
                <td class="num">{duration(r)}</td>
                <td class="actions">
                  <div class="row-actions">
                    <button type="button" aria-expanded={open === r.id} onClick={() => setOpen(open === r.id ? null : r.id)}>
                      {open === r.id ? "Hide steps" : "Steps"}
                    </button>
                    {can("integrations:run") && r.kind !== "form" && r.kind !== "oauth" && (
                      <button type="button" onClick={() => rerun(r)}>
                        Re-run
                      </button>
                    )}
                  </div>
                </td>
              </tr>
              {open === r.id && (
                <tr class="expanded">
                  <td colSpan={p.names ? 7 : 6}>
                    <StepLog id={r.id} />
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** One run's steps, each request and response. */
export function StepLog({ id }: { id: string }) {
  const run = useLoad(() => get<Run>(`/v1/runs/${seg(id)}`), [id]);
  if (run.loading) return <Loading />;
  if (run.error) return <ErrorNote error={run.error} />;
  const steps = run.data?.steps ?? [];
  return (
    <div class="step-log" aria-label="Step log">
      {run.data?.result && <p class="muted">Result: <code>{JSON.stringify(run.data.result).slice(0, 300)}</code></p>}
      {steps.length === 0 && <p class="muted">This run made no request.</p>}
      {steps.map((s) => (
        <details class="step">
          <summary>
            <code>{s.label}</code> {s.method} <code>{s.url}</code> → {s.status ?? s.error ?? "no response"}{" "}
            <span class="muted">({s.duration_ms} ms)</span>
          </summary>
          <div class="panels">
            <div>
              <h4>Request</h4>
              <Headers headers={s.request_headers ?? {}} />
              <Body body={s.request_body} contentType={s.request_headers?.["Content-Type"] ?? s.request_headers?.["content-type"]} />
            </div>
            <div>
              <h4>Response {s.status ?? ""}</h4>
              {s.error && <p class="error">{s.error}</p>}
              <Body body={s.response_body} />
              {s.response_truncated && <p class="muted">(truncated)</p>}
            </div>
          </div>
        </details>
      ))}
    </div>
  );
}
