// Small shared pieces: empty states, errors, dates, badges, copy, JSON.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { ApiError } from "../api";

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <p class="empty-title">{title}</p>
      {children && <div class="empty-next">{children}</div>}
    </div>
  );
}

export function ErrorNote({ error }: { error: ApiError | null | string }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {typeof error === "string" ? error : error.shown}
    </p>
  );
}

export function Loading() {
  return <p class="muted" aria-live="polite">Loading…</p>;
}

/** `2026-11-27 10:21:03` in the browser's time zone, with the ISO time as a tooltip. */
export function When({ at, empty = "never" }: { at: string | null | undefined; empty?: string }) {
  if (!at) return <span class="muted">{empty}</span>;
  const d = new Date(at);
  return (
    <time dateTime={at} title={at}>
      {fmtDate(d)}
    </time>
  );
}

export function fmtDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** How long ago, roughly: "3 min ago". */
export function ago(at: string): string {
  const s = Math.max(0, (Date.now() - new Date(at).getTime()) / 1000);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** A coloured state word: active / failing / disabled, succeeded / dead … */
export function Badge({ value }: { value: string }) {
  return <span class={`badge badge-${value.replace(/[^a-z0-9]/gi, "")}`}>{value}</span>;
}

/** An HTTP result: the status code, or the error when no response came. */
export function Result({ status, error }: { status: number | null; error: string | null }) {
  if (status === null) return <span class="badge badge-error" title={error ?? ""}>{shorten(error ?? "no response", 40)}</span>;
  const cls = status < 300 ? "ok" : status < 500 ? "warn" : "bad";
  return <span class={`badge badge-${cls}`}>{status}</span>;
}

export function shorten(s: string, n: number) {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/** A Copy button that says "Copied" for a moment. */
export function Copy({ text, label = "Copy" }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
        } catch {
          // No clipboard (plain http on another host): select the text instead.
          const r = document.createRange();
          const el = document.querySelector(`[data-copy="${CSS.escape(text)}"]`);
          if (el) {
            r.selectNodeContents(el);
            getSelection()?.removeAllRanges();
            getSelection()?.addRange(r);
          }
        }
        setDone(true);
        setTimeout(() => setDone(false), 1500);
      }}
    >
      {done ? "Copied" : label}
    </button>
  );
}

/** A secret or token shown in full, with its Copy button. */
export function Secret({ value, label }: { value: string; label: string }) {
  return (
    <div class="secret">
      <code data-copy={value} aria-label={label}>
        {value}
      </code>
      <Copy text={value} />
    </div>
  );
}

/** A body: JSON pretty-printed, a form body as a table of its fields, else as is. */
export function Body({ body, contentType }: { body: string; contentType?: string }) {
  if (!body) return <p class="muted">(empty body)</p>;
  const ct = (contentType ?? "").toLowerCase();
  if (ct.includes("x-www-form-urlencoded") || (!ct && /^[\w.%+-]+=/.test(body) && !body.trim().startsWith("{"))) {
    const fields = [...new URLSearchParams(body).entries()];
    return (
      <table class="kv">
        <caption class="sr-only">Form fields</caption>
        <tbody>
          {fields.map(([k, v]) => (
            <tr>
              <th scope="row">{k}</th>
              <td>
                <pre>{pretty(v)}</pre>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    );
  }
  return <pre class="code">{pretty(body)}</pre>;
}

/** JSON text pretty-printed; anything else unchanged. */
export function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export function Headers({ headers }: { headers: Record<string, string> }) {
  const entries = Object.entries(headers ?? {});
  if (entries.length === 0) return <p class="muted">(no headers)</p>;
  return (
    <table class="kv">
      <caption class="sr-only">Headers</caption>
      <tbody>
        {entries.map(([k, v]) => (
          <tr>
            <th scope="row">{k}</th>
            <td>
              <code>{v}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
