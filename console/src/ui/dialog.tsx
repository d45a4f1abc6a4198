// A modal `<dialog>`: focus moves into it, Escape closes it, and focus
// returns where it was.
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

interface Props {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  /** Buttons at the bottom. */
  actions?: ComponentChildren;
  wide?: boolean;
}

export function Dialog({ title, onClose, children, actions, wide }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  // Taken at the first render, before anything in the dialog takes focus.
  const opener = useRef(document.activeElement as HTMLElement | null);
  useEffect(() => {
    const d = ref.current!;
    if (!d.open) d.showModal();
    return () => {
      // Close first: nothing outside an open modal dialog can take focus.
      if (d.open) d.close();
      opener.current?.focus?.();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      class={wide ? "dialog wide" : "dialog"}
      aria-labelledby="dialog-title"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <header class="dialog-head">
        <h2 id="dialog-title">{title}</h2>
        <button type="button" class="icon" aria-label="Close" onClick={onClose}>
          ✕
        </button>
      </header>
      <div class="dialog-body">{children}</div>
      {actions && <footer class="dialog-actions">{actions}</footer>}
    </dialog>
  );
}

/** A confirmation: the question, and the action's button (red). */
export function Confirm(p: {
  title: string;
  children: ComponentChildren;
  action: string;
  busy?: boolean;
  error?: string | null;
  onConfirm: () => void;
  onClose: () => void;
}) {
  return (
    <Dialog
      title={p.title}
      onClose={p.onClose}
      actions={
        <>
          <button type="button" onClick={p.onClose}>
            Cancel
          </button>
          <button type="button" class="danger" disabled={p.busy} onClick={p.onConfirm}>
            {p.action}
          </button>
        </>
      }
    >
      {p.children}
      {p.error && <p class="error" role="alert">{p.error}</p>}
    </Dialog>
  );
}
