// Overview: deliveries per minute over the last 24 h (uPlot), the success
// rate, queue depth by state, the oldest pending delivery, failing and
// disabled web hooks, table sizes and retention, from `GET /v1/stats`.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import { get } from "../api";
import { session } from "../session";
import { Stats } from "../types";
import { ago, Empty, ErrorNote, Loading, When } from "../ui/bits";
import { useLoad } from "../ui/load";

export function Overview() {
  const stats = useLoad(() => get<Stats>("/v1/stats"), []);
  useEffect(() => {
    const t = setInterval(stats.reload, 30000);
    return () => clearInterval(t);
  }, []);
  const me = session.me!;
  return (
    <section>
      <div class="page-head">
        <h1>Overview</h1>
        <span class="muted">{me.organization.name}</span>
      </div>
      {stats.error?.status === 404 ? (
        <Empty title="Statistics are not available on this server.">
          This hookrelay version has no <code>GET /v1/stats</code>. The other pages work: see <a href="#/webhooks">Web hooks</a> and{" "}
          <a href="#/history">History</a>.
        </Empty>
      ) : (
        <ErrorNote error={stats.error} />
      )}
      {stats.loading && !stats.data && <Loading />}
      {stats.data && <Dashboard s={stats.data} />}
    </section>
  );
}

function Dashboard({ s }: { s: Stats }) {
  const rate = s.last_24h.success_rate;
  const q = s.queue;
  // Only a platform token is told the database's sizes.
  const allOrgs = s.tables.some((t) => t.database_rows !== null);
  return (
    <>
      <div class="cards">
        <Card label="Success rate, 24 h" value={rate === null ? "—" : `${(rate * 100).toFixed(rate >= 0.999 || rate === 0 ? 0 : 1)} %`} tone={rate === null ? "" : rate >= 0.99 ? "ok" : rate >= 0.9 ? "warn" : "bad"} />
        <Card label="Delivered, 24 h" value={fmt(s.last_24h.succeeded)} sub={`${fmt(s.last_24h.failed)} failed ${s.last_24h.failed === 1 ? "attempt" : "attempts"}`} />
        <Card label="Waiting" value={fmt(q.pending + q.failed)} sub={`${fmt(q.pending)} pending, ${fmt(q.failed)} to retry, ${fmt(q.delivering)} sending`} />
        <Card label="Oldest pending" value={s.oldest_pending_at ? ago(s.oldest_pending_at) : "none"} tone={s.oldest_pending_at && Date.now() - new Date(s.oldest_pending_at).getTime() > 600000 ? "warn" : ""} />
        <Card label="Dead" value={fmt(q.dead)} sub="gave up; recover from History" tone={q.dead > 0 ? "warn" : ""} />
      </div>
      <section class="card" aria-labelledby="chart-title">
        <h2 id="chart-title">Attempts per minute, last 24 h</h2>
        <Chart s={s} />
      </section>
      <div class="panels">
        <section class="card" aria-labelledby="attention-title">
          <h2 id="attention-title">Web hooks needing attention</h2>
          <p class="muted">
            {s.webhooks.active} of {s.webhooks.total} active.
          </p>
          {s.webhooks.failing.length + s.webhooks.disabled.length === 0 ? (
            <p>All web hooks are healthy.</p>
          ) : (
            <ul class="plain">
              {[...s.webhooks.failing, ...s.webhooks.disabled].map((w) => (
                <li>
                  <span class={`badge badge-${w.state}`}>{w.state}</span> <a href={`#/webhooks/${w.id}`}>{w.name}</a> <code class="muted">{w.url}</code>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section class="card" aria-labelledby="storage-title">
          <h2 id="storage-title">Storage</h2>
          <table class="kv">
            <caption class="sr-only">Table sizes</caption>
            <thead>
              <tr>
                <th scope="col">Table</th>
                <th scope="col" class="num">Rows</th>
                {allOrgs && <th scope="col" class="num">All organizations (est.)</th>}
                <th scope="col">Oldest row</th>
              </tr>
            </thead>
            <tbody>
              {s.tables.map((t) => (
                <tr>
                  <th scope="row">{t.name}</th>
                  <td class="num">
                    {fmt(t.rows)}
                    {t.rows_capped && "+"}
                  </td>
                  {allOrgs && <td class="num">{t.database_rows === null ? "—" : fmt(t.database_rows)}</td>}
                  <td>
                    <When at={t.oldest_at} empty="—" />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="muted">
            {s.retention.days === 0 ? "History is kept forever." : `History is kept ${s.retention.days} days.`}{" "}
            {s.retention.last_run_at && (
              <>
                Last clean-up <When at={s.retention.last_run_at} /> removed {fmt(s.retention.deleted.history)} attempts,{" "}
                {fmt(s.retention.deleted.deliveries)} deliveries and {fmt(s.retention.deleted.events)} events.
              </>
            )}
          </p>
        </section>
      </div>
    </>
  );
}

function Card({ label, value, sub, tone = "" }: { label: string; value: string; sub?: string; tone?: string }) {
  return (
    <div class={`card stat ${tone}`}>
      <div class="stat-label">{label}</div>
      <div class="stat-value">{value}</div>
      {sub && <div class="stat-sub muted">{sub}</div>}
    </div>
  );
}

const fmt = (n: number) => n.toLocaleString("en");

function Chart({ s }: { s: Stats }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    // The API lists only minutes with attempts: fill the others with
    // zeros, so a quiet hour shows as quiet instead of a line across it.
    const [xs, ok, bad] = dense(s);
    const dark = matchMedia("(prefers-color-scheme: dark)").matches;
    const axis = { stroke: dark ? "#9aa4b2" : "#5b6675", grid: { stroke: dark ? "#2a3140" : "#e8ebf0" }, ticks: { stroke: dark ? "#2a3140" : "#e8ebf0" } };
    const plot = new uPlot(
      {
        width: el.clientWidth || 900,
        height: 220,
        scales: { x: { time: true } },
        axes: [axis, axis],
        legend: { show: true },
        series: [
          {},
          { label: "Succeeded", stroke: "#1f9d55", fill: "rgba(31,157,85,0.15)", width: 1.5 },
          { label: "Failed", stroke: "#d64545", fill: "rgba(214,69,69,0.15)", width: 1.5 },
        ],
      },
      [xs, ok, bad],
      el,
    );
    const resize = () => plot.setSize({ width: el.clientWidth, height: 220 });
    addEventListener("resize", resize);
    return () => {
      removeEventListener("resize", resize);
      plot.destroy();
    };
  }, [s]);
  if (s.per_minute.length === 0) return <p class="muted">No attempts in the last 24 hours.</p>;
  return <div ref={ref} class="chart" role="img" aria-label="Attempts per minute: succeeded and failed" />;
}

/** Every minute of the window (seconds), with its succeeded and failed counts. */
function dense(s: Stats): [number[], number[], number[]] {
  const at = new Map(s.per_minute.map((p) => [Math.floor(new Date(p.minute).getTime() / 60000), p]));
  const from = Math.floor(new Date(s.window.from).getTime() / 60000);
  const to = Math.floor(new Date(s.window.to).getTime() / 60000);
  const xs: number[] = [];
  const ok: number[] = [];
  const bad: number[] = [];
  for (let m = from; m <= to; m++) {
    const p = at.get(m);
    xs.push(m * 60);
    ok.push(p?.succeeded ?? 0);
    bad.push(p?.failed ?? 0);
  }
  return [xs, ok, bad];
}
