import { useState, type ReactNode } from 'react';
import { Button } from './Button';

/** A destructive action that asks once more, inline (no browser dialog). */
export function ConfirmButton({
  label,
  question,
  confirmLabel,
  onConfirm,
  disabled,
  size = 'sm',
}: {
  label: ReactNode;
  question: ReactNode;
  confirmLabel: string;
  onConfirm: () => void | Promise<void>;
  disabled?: boolean;
  size?: 'sm' | 'md';
}) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  if (!asking) {
    return (
      <Button variant="secondary" size={size} disabled={disabled} onClick={() => setAsking(true)}>
        {label}
      </Button>
    );
  }
  return (
    <span role="group" aria-label="Confirm" className="inline-flex flex-wrap items-center gap-2 text-sm">
      <span className="text-slate-700 dark:text-slate-200">{question}</span>
      <Button
        variant="danger"
        size={size}
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            await onConfirm();
          } finally {
            setBusy(false);
            setAsking(false);
          }
        }}
      >
        {confirmLabel}
      </Button>
      <Button variant="ghost" size={size} onClick={() => setAsking(false)}>
        Keep
      </Button>
    </span>
  );
}
