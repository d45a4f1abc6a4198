// Access tokens: the list (sorted and searched in the browser: the API
// lists in creation order only), Create a token (shown once, with Copy
// and Done), Rename, Revoke.
import { useState } from "preact/hooks";
import { ApiError, del, get, Page, patch, post, seg } from "../api";
import { session } from "../session";
import { NewToken, Scope, SCOPES, Token } from "../types";
import { Empty, ErrorNote, Loading, Secret, When } from "../ui/bits";
import { Confirm, Dialog } from "../ui/dialog";
import { Field, fieldError, formError, val } from "../ui/form";
import { asApiError, useLoad } from "../ui/load";
import { Sort, sortRows, Table } from "../ui/table";

type Open = null | { kind: "create" } | { kind: "rename" | "revoke"; token: Token };

export function Tokens() {
  const list = useLoad(() => get<Page<Token>>("/v1/tokens", { limit: 500 }), []);
  const [q, setQ] = useState("");
  const [sort, setSort] = useState<Sort>({ key: "created_at", order: "asc" });
  const [open, setOpen] = useState<Open>(null);
  const close = (changed: boolean) => {
    setOpen(null);
    if (changed) list.reload();
  };
  const term = q.trim().toLowerCase();
  const rows = sortRows(
    (list.data?.data ?? []).filter((t) => !term || t.name.toLowerCase().includes(term) || t.scopes.some((s) => s.includes(term))),
    sort,
    (t, k) => (k === "name" ? t.name.toLowerCase() : k === "last_used_at" ? t.last_used_at : t.created_at),
  );
  return (
    <section>
      <div class="page-head">
        <h1>Access tokens</h1>
        <button type="button" class="primary" onClick={() => setOpen({ kind: "create" })}>
          Create a token
        </button>
      </div>
      <p class="lede">Tokens let publishers, scripts and operators use the API. A token is shown once, when it is created.</p>
      <div class="toolbar">
        <label for="tok-search" class="sr-only">Search tokens</label>
        <input id="tok-search" type="search" placeholder="Search by name or scope" value={q} onInput={(e) => setQ(val(e))} />
      </div>
      <ErrorNote error={list.error} />
      {list.loading && !list.data && <Loading />}
      {list.data && rows.length === 0 && <Empty title={term ? "No token matches." : "No tokens."}>Create a token for each publisher or script.</Empty>}
      {rows.length > 0 && (
        <Table<Token>
          caption="Access tokens"
          rows={rows}
          rowKey={(t) => t.id}
          sort={sort}
          onSort={setSort}
          columns={[
            { title: "Name", sort: "name", render: (t) => <>{t.name}{t.id === session.me?.token.id && <span class="muted"> (this session)</span>}</> },
            { title: "Scopes", render: (t) => <span class="scopes">{t.scopes.map((s) => <code>{s}</code>)}</span> },
            { title: "Created", sort: "created_at", render: (t) => <When at={t.created_at} /> },
            { title: "Last used", sort: "last_used_at", render: (t) => <When at={t.last_used_at} /> },
            {
              title: "Actions",
              className: "actions",
              render: (t) => (
                <div class="row-actions">
                  <button type="button" aria-label={`Rename ${t.name}`} onClick={() => setOpen({ kind: "rename", token: t })}>Rename</button>
                  <button type="button" class="danger-text" aria-label={`Revoke ${t.name}`} onClick={() => setOpen({ kind: "revoke", token: t })}>Revoke</button>
                </div>
              ),
            },
          ]}
        />
      )}
      {open?.kind === "create" && <CreateToken onClose={close} />}
      {open?.kind === "rename" && <RenameToken token={open.token} onClose={close} />}
      {open?.kind === "revoke" && <RevokeToken token={open.token} onClose={close} />}
    </section>
  );
}

function CreateToken({ onClose }: { onClose: (changed: boolean) => void }) {
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<Scope[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const [made, setMade] = useState<NewToken | null>(null);
  const offered = SCOPES.filter(([s]) => s !== "platform" || session.platform);
  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      setMade(await post<NewToken>("/v1/tokens", { name, scopes }));
    } catch (err) {
      setError(asApiError(err));
    }
  };
  if (made)
    return (
      <Dialog title={`Token “${made.name}” created`} onClose={() => onClose(true)} actions={<button type="button" class="primary" onClick={() => onClose(true)}>Done</button>}>
        <p>
          <strong>Save this token now: this is the only time you will see it.</strong>
        </p>
        <Secret value={made.token} label="The new token" />
      </Dialog>
    );
  return (
    <Dialog title="Create a token" onClose={() => onClose(false)}>
      <form onSubmit={save} noValidate>
        <Field label="Name" id="tok-name" error={fieldError(error, "name")} hint="Who or what uses it, e.g. ATS publisher.">
          <input id="tok-name" required autoFocus value={name} onInput={(e) => setName(val(e))} />
        </Field>
        <fieldset>
          <legend>Scopes</legend>
          {fieldError(error, "scopes") && <p class="field-error" role="alert">{fieldError(error, "scopes")}</p>}
          {offered.map(([s, what]) => (
            <div class="check-field">
              <input
                type="checkbox"
                id={`scope-${s}`}
                checked={scopes.includes(s)}
                onChange={(e) => setScopes((e.target as HTMLInputElement).checked ? [...scopes, s] : scopes.filter((x) => x !== s))}
              />
              <label for={`scope-${s}`}>
                <code>{s}</code> <span class="hint">{what}</span>
              </label>
            </div>
          ))}
        </fieldset>
        {formError(error, ["name", "scopes"]) && <p class="error" role="alert">{formError(error, ["name", "scopes"])}</p>}
        <div class="dialog-actions inline">
          <button type="button" onClick={() => onClose(false)}>Cancel</button>
          <button type="submit" class="primary" disabled={!name.trim() || scopes.length === 0}>Save</button>
        </div>
      </form>
    </Dialog>
  );
}

function RenameToken({ token, onClose }: { token: Token; onClose: (changed: boolean) => void }) {
  const [name, setName] = useState(token.name);
  const [error, setError] = useState<ApiError | null>(null);
  const save = async (e: Event) => {
    e.preventDefault();
    try {
      await patch(`/v1/tokens/${seg(token.id)}`, { name });
      onClose(true);
    } catch (err) {
      setError(asApiError(err));
    }
  };
  return (
    <Dialog title={`Rename ${token.name}`} onClose={() => onClose(false)}>
      <form onSubmit={save} noValidate>
        <Field label="Name" id="rename-name" error={fieldError(error, "name")}>
          <input id="rename-name" required autoFocus value={name} onInput={(e) => setName(val(e))} />
        </Field>
        {formError(error, ["name"]) && <p class="error" role="alert">{formError(error, ["name"])}</p>}
        <div class="dialog-actions inline">
          <button type="button" onClick={() => onClose(false)}>Cancel</button>
          <button type="submit" class="primary">Rename</button>
        </div>
      </form>
    </Dialog>
  );
}

function RevokeToken({ token, onClose }: { token: Token; onClose: (changed: boolean) => void }) {
  const [error, setError] = useState<string | null>(null);
  const self = token.id === session.me?.token.id;
  return (
    <Confirm
      title={`Revoke ${token.name}?`}
      action="Revoke"
      error={error}
      onClose={() => onClose(false)}
      onConfirm={async () => {
        try {
          await del(`/v1/tokens/${seg(token.id)}`);
          onClose(true);
        } catch (e) {
          setError(asApiError(e).shown);
        }
      }}
    >
      <p>Whatever uses it gets 401 from its next request. This cannot be undone.</p>
      {self && <p class="notice warn">This is the token of this session: you will be signed out.</p>}
    </Confirm>
  );
}

