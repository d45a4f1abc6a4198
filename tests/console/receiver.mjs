// A real web hook receiver on loopback that verifies the HrFlow signature
// (docs/signatures.md): form bodies over the fields as compact,
// ASCII-escaped JSON in body order; JSON bodies over the raw bytes.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";

/** Python's `json.dumps(obj, separators=(',', ':'))` for string values. */
function pyCompact(obj) {
  return JSON.stringify(obj).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** What the HrFlow signature covers for this body. */
export function signedInput(body, contentType) {
  if ((contentType ?? "").includes("x-www-form-urlencoded")) {
    const fields = {};
    for (const [k, v] of new URLSearchParams(body)) if (!(k in fields)) fields[k] = v;
    return pyCompact(fields);
  }
  return body;
}

export function startReceiver() {
  // `gone`: requests to a path ending in /gone are answered 410 Gone
  // (hookrelay then disables that web hook).
  const r = { secret: null, received: [], url: null, server: null, gone: false };
  r.server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const sig = req.headers["http-hrflow-signature"] ?? "";
      let verified = false;
      if (r.secret && sig.includes(".")) {
        // Scheme hrflow_sdk: base64url(hex digest over the payload) "." base64url(payload).
        const [encodedSig, encodedPayload] = sig.split(".");
        const got = Buffer.from(encodedSig, "base64url");
        const want = Buffer.from(createHmac("sha256", Buffer.from(r.secret, "utf8")).update(Buffer.from(encodedPayload, "base64url")).digest("hex"));
        verified = got.length === want.length && timingSafeEqual(got, want);
      } else if (r.secret && sig) {
        const want = createHmac("sha256", Buffer.from(r.secret, "utf8")).update(signedInput(body, req.headers["content-type"])).digest("hex");
        verified = want.length === sig.length && timingSafeEqual(Buffer.from(want), Buffer.from(sig));
      }
      const gone = r.gone && req.url.endsWith("/gone");
      const status = gone ? 410 : verified ? 200 : 401;
      r.received.push({ path: req.url, headers: req.headers, body, verified, status });
      if (gone) {
        res.writeHead(410);
        res.end();
        return;
      }
      res.writeHead(status, { "Content-Type": "application/json", "X-Receiver": "console-test" });
      res.end(JSON.stringify({ verified, received: r.received.length }));
    });
  });
  return new Promise((resolve) =>
    r.server.listen(0, "127.0.0.1", () => {
      r.url = `http://127.0.0.1:${r.server.address().port}/hooks`;
      resolve(r);
    }),
  );
}
