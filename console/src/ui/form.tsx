// Form fields with a real `<label>` and the API's error for that field
// shown beside it (`error.field` names the input, e.g. `url`).
import type { ComponentChildren } from "preact";
import { ApiError } from "../api";

/** The message for field `name` (or a field under it, like `event_types[2]`). */
export function fieldError(err: ApiError | null, name: string): string | null {
  if (!err || !err.field) return null;
  return err.field === name || err.field.startsWith(`${name}[`) || err.field.startsWith(`${name}.`)
    ? err.message
    : null;
}

/** An error that names none of `fields`: shown above the form's buttons. */
export function formError(err: ApiError | null, fields: string[]): string | null {
  if (!err) return null;
  if (err.field && fields.some((f) => fieldError(err, f))) return null;
  return err.shown;
}

interface FieldProps {
  label: string;
  id: string;
  error?: string | null;
  hint?: ComponentChildren;
  children: ComponentChildren;
}

export function Field({ label, id, error, hint, children }: FieldProps) {
  return (
    <div class={error ? "field invalid" : "field"}>
      <label for={id}>{label}</label>
      {children}
      {hint && !error && <p class="hint" id={`${id}-hint`}>{hint}</p>}
      {error && (
        <p class="field-error" id={`${id}-error`} role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

/** A checkbox with its label after it. */
export function Check(p: { id: string; label: string; checked: boolean; onChange: (v: boolean) => void; disabled?: boolean; hint?: string }) {
  return (
    <div class="check-field">
      <input
        type="checkbox"
        id={p.id}
        checked={p.checked}
        disabled={p.disabled}
        onChange={(e) => p.onChange((e.target as HTMLInputElement).checked)}
      />
      <label for={p.id}>
        {p.label}
        {p.hint && <span class="hint"> — {p.hint}</span>}
      </label>
    </div>
  );
}

/** The value of an input event. */
export const val = (e: Event) => (e.target as HTMLInputElement).value;
