// Sign in with an access token. The token is checked with `GET /v1/me`
// and kept in sessionStorage only.
import { useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { session, signIn } from "../session";
import { Me } from "../types";
import { Field, val } from "../ui/form";

export function SignIn() {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(session.endedBecause ? `Signed out: ${session.endedBecause}` : null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const t = token.trim();
    try {
      const me = await api<Me>("GET", "/v1/me", undefined, t);
      signIn(t, me);
    } catch (err) {
      const a = err as ApiError;
      setError(a.status === 401 ? "This access token is unknown or revoked." : a.shown);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin" id="main">
      <form class="card signin-card" onSubmit={submit}>
        <div class="brand big">
          <span class="logo" aria-hidden="true">⇢</span> hookrelay
        </div>
        <h1>Sign in to the console</h1>
        <Field
          label="Access token"
          id="token"
          error={error}
          hint={
            <>
              A token made with <code>hookrelay token create</code>, in the console, or the{" "}
              <code>HOOKRELAY_BOOTSTRAP_TOKEN</code>. It is kept in this tab only.
            </>
          }
        >
          <input
            id="token"
            type="password"
            autoFocus
            autoComplete="off"
            spellcheck={false}
            required
            value={token}
            onInput={(e) => setToken(val(e))}
            aria-invalid={!!error}
            aria-describedby={error ? "token-error" : "token-hint"}
          />
        </Field>
        <button type="submit" class="primary" disabled={busy || !token.trim()}>
          Sign in
        </button>
      </form>
    </main>
  );
}
