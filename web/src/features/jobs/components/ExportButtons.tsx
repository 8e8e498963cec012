import { useState } from 'react';
import { useApi } from '../../../app/providers/auth';
import { Alert, Button, Spinner } from '../../../components/ui';
import { EXPORT_FORMATS } from '../../../config';
import { errorMessage } from '../../../lib/api-client';
import { exportJob, saveBlob, type ExportFormat } from '../api/jobs';

export function ExportButtons({ jobId, baseName }: { jobId: string; baseName: string }) {
  const client = useApi();
  const [busy, setBusy] = useState<ExportFormat | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function download(format: ExportFormat) {
    setBusy(format);
    setError(null);
    try {
      const file = await exportJob(client, jobId, format);
      saveBlob(file.blob, `${baseName}.${format}`);
    } catch (reason) {
      setError(reason);
    } finally {
      setBusy(null);
    }
  }

  return (
    <div className="space-y-2">
      <div className="flex flex-wrap gap-2" role="group" aria-label="Export transcript">
        {EXPORT_FORMATS.map((format) => (
          <Button
            key={format}
            variant="secondary"
            size="sm"
            disabled={busy !== null}
            onClick={() => void download(format)}
            aria-label={`Download ${format.toUpperCase()}`}
          >
            {busy === format ? <Spinner className="h-3 w-3" /> : null}
            {format.toUpperCase()}
          </Button>
        ))}
      </div>
      {error ? <Alert tone="error">Export failed: {errorMessage(error)}</Alert> : null}
    </div>
  );
}
