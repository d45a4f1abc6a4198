// Add or edit a person: name, email, phone, position, department, manager,
// buddy, start date and extra fields (JSON).
import { useState } from "preact/hooks";
import { ApiError, get, Page, patch, post, seg } from "../api";
import { User } from "../types";
import { Dialog } from "../ui/dialog";
import { Field, fieldError, formError, val } from "../ui/form";
import { asApiError, useLoad } from "../ui/load";
import { fullName } from "./integration-run";

const FIELDS = ["first_name", "last_name", "email", "phone", "position", "department", "start_date", "manager_id", "buddy_id", "extra_fields"];

export function PersonDialog({ user, onClose }: { user?: User; onClose: (id: string | null) => void }) {
  const people = useLoad(() => get<Page<User>>("/v1/users", { limit: 500, sort: "last_name" }), []);
  const [f, setF] = useState({
    first_name: user?.first_name ?? "",
    last_name: user?.last_name ?? "",
    email: user?.email ?? "",
    phone: user?.phone ?? "",
    position: user?.position ?? "",
    department: user?.department ?? "",
    start_date: user?.start_date ?? "",
    manager_id: user?.manager_id ?? "",
    buddy_id: user?.buddy_id ?? "",
    extra: JSON.stringify(user?.extra_fields ?? {}, null, 2),
  });
  const [error, setError] = useState<ApiError | null>(null);
  const set = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: val(e) });
  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    let extra: unknown;
    try {
      extra = JSON.parse(f.extra || "{}");
    } catch {
      setError(new ApiError(422, "client", "extra fields must be a JSON object", "extra_fields"));
      return;
    }
    const body = {
      first_name: f.first_name,
      last_name: f.last_name,
      email: f.email,
      phone: f.phone,
      position: f.position,
      department: f.department,
      start_date: f.start_date || null,
      manager_id: f.manager_id || null,
      buddy_id: f.buddy_id || null,
      extra_fields: extra,
    };
    try {
      const u = user ? await patch<User>(`/v1/users/${seg(user.id)}`, body) : await post<User>("/v1/users", body);
      onClose(u.id);
    } catch (err) {
      setError(asApiError(err));
    }
  };
  const others = (people.data?.data ?? []).filter((p) => p.id !== user?.id);
  const pick = (k: "manager_id" | "buddy_id", label: string) => (
    <Field label={label} id={`p-${k}`} error={fieldError(error, k)}>
      <select id={`p-${k}`} value={f[k]} onChange={set(k)}>
        <option value="">(none)</option>
        {others.map((p) => (
          <option value={p.id}>
            {fullName(p)} ({p.email})
          </option>
        ))}
      </select>
    </Field>
  );
  return (
    <Dialog title={user ? `Edit ${fullName(user)}` : "Add a person"} onClose={() => onClose(null)} wide>
      <form onSubmit={save} noValidate>
        <div class="grid2">
          <Field label="First name" id="p-first_name" error={fieldError(error, "first_name")}>
            <input id="p-first_name" required autoFocus value={f.first_name} onInput={set("first_name")} />
          </Field>
          <Field label="Last name" id="p-last_name" error={fieldError(error, "last_name")}>
            <input id="p-last_name" required value={f.last_name} onInput={set("last_name")} />
          </Field>
          <Field label="Email" id="p-email" error={fieldError(error, "email")}>
            <input id="p-email" type="email" required value={f.email} onInput={set("email")} />
          </Field>
          <Field label="Phone" id="p-phone" error={fieldError(error, "phone")}>
            <input id="p-phone" type="tel" value={f.phone} onInput={set("phone")} />
          </Field>
          <Field label="Position" id="p-position" error={fieldError(error, "position")}>
            <input id="p-position" value={f.position} onInput={set("position")} />
          </Field>
          <Field label="Department" id="p-department" error={fieldError(error, "department")}>
            <input id="p-department" value={f.department} onInput={set("department")} />
          </Field>
          {pick("manager_id", "Manager")}
          {pick("buddy_id", "Buddy")}
          <Field label="Start date" id="p-start_date" error={fieldError(error, "start_date")}>
            <input id="p-start_date" type="date" value={f.start_date} onInput={set("start_date")} />
          </Field>
        </div>
        <Field label="Extra fields (JSON object)" id="p-extra" error={fieldError(error, "extra_fields")}>
          <textarea id="p-extra" rows={4} value={f.extra} onInput={set("extra")} />
        </Field>
        {formError(error, FIELDS) && <p class="error" role="alert">{formError(error, FIELDS)}</p>}
        <div class="dialog-actions inline">
          <button type="button" onClick={() => onClose(null)}>Cancel</button>
          <button type="submit" class="primary">Save</button>
        </div>
      </form>
    </Dialog>
  );
}
