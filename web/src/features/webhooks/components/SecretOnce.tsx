import { useState } from 'react';
import { Alert, Button } from '../../../components/ui';
import type { WebhookWithSecret } from '../api/webhooks';

/** An endpoint's signing secret, shown this once (after create or rotate). */
export function SecretOnce({ webhook, onDone }: { webhook: WebhookWithSecret; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <Alert tone="success" title="Signing secret">
      <p>
        Copy it now: it is shown only this once. Receivers verify each request's <code>webhook-signature</code> with
        it (Standard Webhooks).
      </p>
      <div className="mt-2 flex flex-col gap-2 sm:flex-row">
        <label htmlFor="webhook-secret" className="sr-only">
          Signing secret of {webhook.url}
        </label>
        <input
          id="webhook-secret"
          readOnly
          value={webhook.signing_secret}
          onFocus={(e) => e.target.select()}
          className="w-full rounded-md border-0 bg-white px-3 py-2 font-mono text-sm text-slate-900 ring-1 ring-inset ring-emerald-300 dark:bg-slate-950 dark:text-slate-100 dark:ring-emerald-800"
        />
        <div className="flex gap-2">
          <Button
            variant="secondary"
            size="sm"
            onClick={async () => {
              try {
                await navigator.clipboard.writeText(webhook.signing_secret);
                setCopied(true);
              } catch {
                setCopied(false);
              }
            }}
          >
            {copied ? 'Copied' : 'Copy'}
          </Button>
          <Button variant="ghost" size="sm" onClick={onDone}>
            Done
          </Button>
        </div>
      </div>
    </Alert>
  );
}
