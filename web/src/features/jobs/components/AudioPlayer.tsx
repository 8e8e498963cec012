import { forwardRef, useEffect, useImperativeHandle, useRef, useState } from 'react';
import { useApi } from '../../../app/providers/auth';
import { Alert, Spinner } from '../../../components/ui';
import { ApiError, errorMessage } from '../../../lib/api-client';
import { jobAudio } from '../api/jobs';

export interface AudioPlayerHandle {
  seek: (time: number) => void;
}

/**
 * The job's original audio. It is fetched with the key in a header into a Blob
 * URL: the key never goes into the <audio> element's URL.
 */
export const AudioPlayer = forwardRef<AudioPlayerHandle, { jobId: string; onTime: (time: number) => void }>(
  function AudioPlayer({ jobId, onTime }, ref) {
    const client = useApi();
    const audio = useRef<HTMLAudioElement>(null);
    const [src, setSrc] = useState<string | null>(null);
    const [error, setError] = useState<unknown>(null);
    const onTimeRef = useRef(onTime);
    onTimeRef.current = onTime;

    useEffect(() => {
      const controller = new AbortController();
      let url: string | null = null;
      setSrc(null);
      setError(null);
      jobAudio(client, jobId, controller.signal).then(
        (download) => {
          if (controller.signal.aborted) return;
          url = URL.createObjectURL(download.blob);
          setSrc(url);
        },
        (reason: unknown) => {
          if (!controller.signal.aborted) setError(reason);
        },
      );
      return () => {
        controller.abort();
        if (url) URL.revokeObjectURL(url);
      };
    }, [client, jobId]);

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
      }),
      [],
    );

    if (error) {
      const gone = error instanceof ApiError && error.status === 404;
      return (
        <Alert tone={gone ? 'warning' : 'error'} title="Audio unavailable">
          {gone ? 'The audio of this job is no longer stored.' : errorMessage(error)}
        </Alert>
      );
    }
    if (!src) {
      return (
        <div role="status" className="flex h-14 items-center gap-2 text-sm text-slate-500">
          <Spinner /> Loading audio…
        </div>
      );
    }
    return (
      <audio ref={audio} src={src} controls preload="auto" className="w-full" aria-label="Job audio">
        Your browser cannot play this audio.
      </audio>
    );
  },
);
