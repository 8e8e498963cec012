import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuthProvider } from '../../../app/providers/auth';
import { RequireAuth } from '../../../app/RequireAuth';
import { config } from '../../../config';
import { NewJobPage } from './NewJobPage';

/** A fake XMLHttpRequest: the page uploads with it (for progress). */
class FakeXhr {
  static last: FakeXhr | null = null;
  status = 0;
  responseText = '';
  body: FormData | null = null;
  upload: { onprogress: ((e: ProgressEvent) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  constructor() {
    FakeXhr.last = this;
  }
  open() {}
  setRequestHeader() {}
  send(body: FormData) {
    this.body = body;
  }
  abort() {
    this.onabort?.();
  }
  answer(status: number, body: unknown) {
    this.status = status;
    this.responseText = JSON.stringify(body);
    this.onload?.();
  }
}

const json = (body: unknown) =>
  new Response(JSON.stringify(body), { headers: { 'Content-Type': 'application/json' } });

/** The text fields of the uploaded form. */
function sent(): Record<string, string> {
  const form = FakeXhr.last?.body;
  if (!form) throw new Error('nothing was uploaded');
  const out: Record<string, string> = {};
  for (const [name, value] of form.entries()) if (typeof value === 'string') out[name] = value;
  return out;
}

describe('NewJobPage', () => {
  beforeEach(() => {
    FakeXhr.last = null;
    sessionStorage.setItem(config.apiKeyStorageKey, 'dk_test');
    vi.stubGlobal('XMLHttpRequest', FakeXhr);
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: RequestInfo | URL) => {
        const url = String(input);
        if (url.startsWith('/auth/me')) return json({ key_id: 'k1', tenant_id: 'default', scopes: ['admin'] });
        if (url.startsWith('/v1/models')) return json({ object: 'list', data: [] });
        return new Response('{}', { status: 404 });
      }),
    );
  });

  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
    sessionStorage.clear();
  });

  async function renderPage() {
    render(
      <MemoryRouter initialEntries={['/jobs/new']}>
        <AuthProvider>
          <Routes>
            <Route element={<RequireAuth />}>
              <Route path="/jobs/new" element={<NewJobPage />} />
              <Route path="/jobs/:id" element={<p>Job page</p>} />
            </Route>
          </Routes>
        </AuthProvider>
      </MemoryRouter>,
    );
    await screen.findByRole('heading', { name: 'New job' });
    const file = new File(['RIFF'], 'call.wav', { type: 'audio/wav' });
    fireEvent.change(screen.getByLabelText('Audio or video file'), { target: { files: [file] } });
  }

  it('sends diarization with a speaker count, and PII with categories and audio redaction', async () => {
    await renderPage();
    fireEvent.click(screen.getByLabelText(/^Diarization/));
    fireEvent.change(screen.getByLabelText('Number of speakers'), { target: { value: 'exact' } });
    fireEvent.change(screen.getByLabelText('Speakers'), { target: { value: '2' } });
    fireEvent.click(screen.getByLabelText(/^Detect PII/));
    fireEvent.click(screen.getByLabelText(/^Payment/));
    fireEvent.change(screen.getByLabelText('Entity types'), { target: { value: 'PERSON, EMAIL_ADDRESS' } });
    fireEvent.change(screen.getByLabelText('Redacted text'), { target: { value: 'enumerated_entity_type' } });
    fireEvent.click(screen.getByLabelText(/^Redact PII in the audio/));
    fireEvent.click(screen.getByLabelText(/^Beep/));
    fireEvent.click(screen.getByRole('button', { name: 'Transcribe' }));

    expect(sent()).toEqual({
      timestamps_granularity: 'word',
      speaker_detection: 'diarize',
      num_speakers: '2',
      pii_detection: 'true',
      pii_entity_types: 'pci,PERSON,EMAIL_ADDRESS',
      entity_redaction_mode: 'enumerated_entity_type',
      redact_pii_audio: 'true',
      pii_redaction_mode: 'beep',
    });
    FakeXhr.last!.answer(201, { id: 'job-1', status: 'pending', display_name: 'call.wav', model: 'm', created_at: '' });
    await screen.findByText('Job page');
  });

  it('sends no enrichment fields by default, and redacting the audio turns PII detection on', async () => {
    await renderPage();
    fireEvent.click(screen.getByRole('button', { name: 'Transcribe' }));
    expect(sent()).toEqual({ timestamps_granularity: 'word' });

    cleanup();
    await renderPage();
    fireEvent.click(screen.getByLabelText(/^Redact PII in the audio/));
    expect((screen.getByLabelText(/^Detect PII/) as HTMLInputElement).checked).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: 'Transcribe' }));
    expect(sent()).toEqual({
      timestamps_granularity: 'word',
      pii_detection: 'true',
      redact_pii_audio: 'true',
      pii_redaction_mode: 'silence',
    });
  });

  it("shows the server's message when it lacks the engine for an option", async () => {
    await renderPage();
    fireEvent.click(screen.getByLabelText(/^Diarization/));
    fireEvent.click(screen.getByRole('button', { name: 'Transcribe' }));
    const message =
      'The diarize stage needs the resemblyzer-diarize engine, which is not installed on this server ' +
      "(pip install 'dalston[diarize]', or start `dalston worker --engine resemblyzer-diarize`).";
    FakeXhr.last!.answer(400, {
      error: { code: 'invalid_request', message, param: 'speaker_detection', type: 'invalid_request_error' },
    });
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('This server cannot run an option you chose');
    expect(alert.textContent).toContain(message);
    expect(alert.textContent).toContain('speaker_detection');
    // Also beside the option that asked for it.
    expect(screen.getAllByText(message)).toHaveLength(2);
    expect(screen.getByRole('button', { name: 'Transcribe' })).toBeTruthy();
  });

  it('sends retention only when it is not keep', async () => {
    await renderPage();
    expect((screen.getByLabelText('Retention') as HTMLSelectElement).value).toBe('keep');
    expect(screen.queryByLabelText('Days')).toBeNull();
    fireEvent.change(screen.getByLabelText('Retention'), { target: { value: 'days' } });
    expect((screen.getByLabelText('Days') as HTMLInputElement).value).toBe('30');
    fireEvent.change(screen.getByLabelText('Days'), { target: { value: '90' } });
    fireEvent.click(screen.getByRole('button', { name: 'Transcribe' }));
    expect(sent()).toEqual({ timestamps_granularity: 'word', retention: '90' });

    cleanup();
    await renderPage();
    expect(screen.queryByText(/first view of the finished job counts as the read/)).toBeNull();
    fireEvent.change(screen.getByLabelText('Retention'), { target: { value: 'after_delivery' } });
    // The warning is the select's description.
    const select = screen.getByLabelText('Retention');
    const warning = document.getElementById(select.getAttribute('aria-describedby') ?? '');
    expect(warning?.textContent).toMatch(/console's own first view of the finished job counts as the read/);
    expect(screen.queryByLabelText('Days')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Transcribe' }));
    expect(sent()).toEqual({ timestamps_granularity: 'word', retention: '0' });

    cleanup();
    await renderPage();
    fireEvent.change(screen.getByLabelText('Retention'), { target: { value: 'days' } });
    fireEvent.change(screen.getByLabelText('Retention'), { target: { value: 'keep' } });
    fireEvent.click(screen.getByRole('button', { name: 'Transcribe' }));
    expect(sent()).toEqual({ timestamps_granularity: 'word' });
  });

  it('checks the retention days before uploading', async () => {
    await renderPage();
    fireEvent.change(screen.getByLabelText('Retention'), { target: { value: 'days' } });
    for (const days of ['0', '3651', '']) {
      fireEvent.change(screen.getByLabelText('Days'), { target: { value: days } });
      fireEvent.click(screen.getByRole('button', { name: 'Transcribe' }));
      // Beside the box only, not in the form's alert.
      expect(screen.getByText('Enter a whole number of days from 1 to 3650.')).toBeTruthy();
      expect(screen.getByLabelText('Days').getAttribute('aria-invalid')).toBe('true');
      expect(screen.queryByRole('alert')).toBeNull();
      expect(FakeXhr.last).toBeNull();
    }
    fireEvent.change(screen.getByLabelText('Days'), { target: { value: '3650' } });
    fireEvent.click(screen.getByRole('button', { name: 'Transcribe' }));
    expect(sent()).toMatchObject({ retention: '3650' });
  });

  it('checks the speaker counts before uploading', async () => {
    await renderPage();
    fireEvent.click(screen.getByLabelText(/^Diarization/));
    fireEvent.change(screen.getByLabelText('Number of speakers'), { target: { value: 'range' } });
    fireEvent.change(screen.getByLabelText('At least'), { target: { value: '4' } });
    fireEvent.change(screen.getByLabelText('At most'), { target: { value: '2' } });
    fireEvent.click(screen.getByRole('button', { name: 'Transcribe' }));
    await waitFor(() => expect(screen.getAllByText('The minimum must not exceed the maximum.').length).toBeGreaterThan(0));
    expect(FakeXhr.last).toBeNull();

    fireEvent.change(screen.getByLabelText('At least'), { target: { value: '' } });
    fireEvent.click(screen.getByRole('button', { name: 'Transcribe' }));
    expect(sent()).toMatchObject({ speaker_detection: 'diarize', max_speakers: '2' });
    expect(sent()).not.toHaveProperty('min_speakers');
  });
});
