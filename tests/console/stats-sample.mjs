// A `GET /v1/stats` answer of the documented shape (openapi.yaml), for
// checking the Overview page while a build has no such endpoint.
/** A `GET /v1/stats` answer of the documented shape: 24 h of minutes. */
export function sampleStats() {
  const now = Date.now() - (Date.now() % 60000);
  const per_minute = [];
  for (let i = 1439; i >= 0; i--) {
    const t = now - i * 60000;
    const wave = Math.round(40 + 30 * Math.sin(i / 90) + 4 * Math.sin(i / 7));
    per_minute.push({ minute: new Date(t).toISOString(), succeeded: wave, failed: i % 97 < 6 ? 12 : i % 13 === 0 ? 2 : 0 });
  }
  const ok = per_minute.reduce((a, p) => a + p.succeeded, 0);
  const bad = per_minute.reduce((a, p) => a + p.failed, 0);
  const ago = (m) => new Date(now - m * 60000).toISOString();
  return {
    organization_id: "org_1",
    generated_at: new Date(now).toISOString(),
    window: { from: ago(1440), to: ago(0) },
    per_minute,
    last_24h: { succeeded: ok, failed: bad, success_rate: Math.round((ok / (ok + bad)) * 1000) / 1000 },
    queue: { pending: 14, delivering: 3, failed: 5, dead: 2, succeeded: ok },
    oldest_pending_at: ago(2),
    webhooks: {
      total: 4,
      active: 2,
      failing: [{ id: "wh_sample_billing", name: "Billing", url: "https://billing.example.com/hooks", state: "failing" }],
      disabled: [{ id: "wh_sample_legacy", name: "Legacy CRM", url: "https://crm.example.com/in", state: "disabled" }],
    },
    tables: [
      { name: "events", rows: 48211, rows_capped: false, database_rows: null, oldest_at: ago(43000) },
      { name: "deliveries", rows: 61877, rows_capped: false, database_rows: null, oldest_at: ago(43000) },
      { name: "history", rows: 100000, rows_capped: true, database_rows: null, oldest_at: ago(43000) },
    ],
    retention: { days: 30, last_run_at: ago(20), deleted: { history: 1520, deliveries: 1288, events: 1102 } },
  };
}
