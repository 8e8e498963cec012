import { ShownOnce } from '../../../components/ui';
import type { WebhookWithSecret } from '../api/webhooks';

/** An endpoint's signing secret, shown this once (after create or rotate). */
export function SecretOnce({ webhook, onDone }: { webhook: WebhookWithSecret; onDone: () => void }) {
  return (
    <ShownOnce
      title="Signing secret"
      inputId="webhook-secret"
      label={`Signing secret of ${webhook.url}`}
      value={webhook.signing_secret}
      onDone={onDone}
    >
      <p>
        Copy it now: it is shown only this once. Receivers verify each request's <code>webhook-signature</code> with
        it (Standard Webhooks).
      </p>
    </ShownOnce>
  );
}
