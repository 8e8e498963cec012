import { forwardRef, useEffect, useImperativeHandle, useRef, useState } from 'react';
import { useApi } from '../../../app/providers/auth';
import { Alert, Spinner, buttonClass } from '../../../components/ui';
import { ApiError, errorMessage } from '../../../lib/api-client';
import { jobAudio, jobRedactedAudio } from '../api/jobs';

export interface AudioPlayerHandle {
  seek: (time: number) => void;
  /** Play if paused, pause if playing. */
  toggle: () => void;
  /** Move by ``delta`` seconds (within the recording). */
  seekBy: (delta: number) => void;
}

export interface AudioPlayerProps {
  jobId: string;
  onTime: (time: number) => void;
  /** The original upload, or its PII-redacted copy. */
  source?: 'original' | 'redacted';
  /** The <audio> element's accessible name. */
  label?: string;
  /** When set, a link saves the loaded audio under this file name. */
  downloadName?: string;
  /** The audio was deleted (DELETE .../audio): say so, and fetch nothing. */
  deleted?: boolean;
  /** Whether the server has the audio: true once loaded, false when it answered 404. */
  onAvailability?: (stored: boolean) => void;
  /** The audio once downloaded (the waveform decodes it). */
  onBlob?: (blob: Blob) => void;
}

/**
 * The job's audio. It is fetched with the key in a header into a Blob URL: the
 * key never goes into the <audio> element's URL.
 */
export const AudioPlayer = forwardRef<AudioPlayerHandle, AudioPlayerProps>(
  function AudioPlayer(
    { jobId, onTime, source = 'original', label = 'Job audio', downloadName, deleted = false, onAvailability, onBlob },
    ref,
  ) {
    const client = useApi();
    const audio = useRef<HTMLAudioElement>(null);
    const [src, setSrc] = useState<string | null>(null);
    const [error, setError] = useState<unknown>(null);
    const onTimeRef = useRef(onTime);
    onTimeRef.current = onTime;
    const onAvailabilityRef = useRef(onAvailability);
    onAvailabilityRef.current = onAvailability;
    const onBlobRef = useRef(onBlob);
    onBlobRef.current = onBlob;

    useEffect(() => {
      const controller = new AbortController();
      let url: string | null = null;
      setSrc(null);
      setError(null);
      if (deleted) return;
      const load = source === 'redacted' ? jobRedactedAudio : jobAudio;
      load(client, jobId, controller.signal).then(
        (download) => {
          if (controller.signal.aborted) return;
          url = URL.createObjectURL(download.blob);
          setSrc(url);
          onAvailabilityRef.current?.(true);
          onBlobRef.current?.(download.blob);
        },
        (reason: unknown) => {
          if (controller.signal.aborted) return;
          setError(reason);
          if (reason instanceof ApiError && reason.status === 404) onAvailabilityRef.current?.(false);
        },
      );
      return () => {
        controller.abort();
        if (url) URL.revokeObjectURL(url);
      };
    }, [client, jobId, source, deleted]);

    // timeupdate fires about 4 times a second: follow frames while playing.
    useEffect(() => {
      const el = audio.current;
      if (!el || !src) return;
      let frame = 0;
      const report = () => onTimeRef.current(el.currentTime);
      const loop = () => {
        report();
        frame = requestAnimationFrame(loop);
      };
      const play = () => {
        cancelAnimationFrame(frame);
        frame = requestAnimationFrame(loop);
      };
      const stop = () => {
        cancelAnimationFrame(frame);
        report();
      };
      el.addEventListener('play', play);
      el.addEventListener('pause', stop);
      el.addEventListener('ended', stop);
      el.addEventListener('seeked', report);
      el.addEventListener('timeupdate', report);
      return () => {
        cancelAnimationFrame(frame);
        el.removeEventListener('play', play);
        el.removeEventListener('pause', stop);
        el.removeEventListener('ended', stop);
        el.removeEventListener('seeked', report);
        el.removeEventListener('timeupdate', report);
      };
    }, [src]);

    useImperativeHandle(
      ref,
      () => ({
        seek(time: number) {
          const el = audio.current;
          if (!el) return;
          el.currentTime = time;
          onTimeRef.current(time);
        },
        toggle() {
          const el = audio.current;
          if (!el) return;
          if (el.paused) void el.play().catch(() => {});
          else el.pause();
        },
        seekBy(delta: number) {
          const el = audio.current;
          if (!el) return;
          const end = Number.isFinite(el.duration) ? el.duration : Infinity;
          el.currentTime = Math.min(Math.max(el.currentTime + delta, 0), end);
          onTimeRef.current(el.currentTime);
        },
      }),
      [],
    );

    if (deleted) {
      return (
        <p role="status" className="flex min-h-14 items-center text-sm text-slate-500 dark:text-slate-400">
          {source === 'redacted' ? 'Redacted audio deleted' : 'Audio deleted'}: the server no longer stores it.
        </p>
      );
    }
    if (error) {
      const gone = error instanceof ApiError && error.status === 404;
      return (
        <Alert tone={gone ? 'warning' : 'error'} title={source === 'redacted' ? 'Redacted audio unavailable' : 'Audio unavailable'}>
          {gone
            ? source === 'redacted'
              ? 'This job has no redacted audio stored.'
              : 'The audio of this job is no longer stored.'
            : errorMessage(error)}
        </Alert>
      );
    }
    if (!src) {
      return (
        <div role="status" className="flex h-14 items-center gap-2 text-sm text-slate-500 dark:text-slate-400">
          <Spinner /> Loading {source === 'redacted' ? 'redacted audio' : 'audio'}…
        </div>
      );
    }
    const player = (
      <audio ref={audio} src={src} controls preload="auto" className="w-full" aria-label={label}>
        Your browser cannot play this audio.
      </audio>
    );
    if (!downloadName) return player;
    return (
      <div className="flex flex-wrap items-center gap-2 sm:flex-nowrap">
        {player}
        <a
          href={src}
          download={downloadName}
          className={buttonClass('secondary', 'sm', 'shrink-0')}
          aria-label={`Download ${label.toLowerCase()}`}
        >
          Download
        </a>
      </div>
    );
  },
);
