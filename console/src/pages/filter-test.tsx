// Test filter: tries a content filter (as typed, not yet saved) on an event
// type's example payload and says whether the web hook would get it.
import { useState } from "preact/hooks";
import { post } from "../api";
import { FilterTestResult } from "../types";
import { Dialog } from "../ui/dialog";
import { useAction } from "../ui/load";
import { useExampleType } from "./check";

export function FilterTestDialog({ filter, subscribed, onClose }: { filter: string; subscribed: string[]; onClose: () => void }) {
  const { chosen, field } = useExampleType(subscribed, "filter-test-type");
  const [result, setResult] = useState<FilterTestResult | null>(null);
  const { busy, error, run: act } = useAction();
  const run = () =>
    act(async () => {
      setResult(null);
      setResult(await post<FilterTestResult>("/v1/webhooks/filter-test", { filter, event_type: chosen }));
    });
  return (
    <Dialog
      title="Test filter"
      onClose={onClose}
      wide
      actions={
        <>
          <button type="button" onClick={onClose}>
            Close
          </button>
          <button type="button" class="primary" disabled={busy || !chosen} onClick={run}>
            {busy ? "Testing…" : "Test"}
          </button>
        </>
      }
    >
      <p>
        Runs the filter <code>{filter}</code> on an event type's example payload. Nothing is saved or sent.
      </p>
      {field}
      {error && <p class="error" role="alert">{error.shown}</p>}
      {result && (
        <div class="filter-result" aria-live="polite">
          <p role="status" class={result.matches ? "ok-note" : "muted"}>
            {result.matches ? "Matches: this event would be delivered." : "No match: this event would not be delivered."}
          </p>
          {result.nodes.length > 0 && <pre class="code">{JSON.stringify(result.nodes, null, 2)}</pre>}
        </div>
      )}
    </Dialog>
  );
}
