import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Segment } from '../../../lib/api-types';
import { Waveform, computePeaks } from './Waveform';

afterEach(cleanup);

describe('computePeaks', () => {
  it('takes the loudest sample of each slice', () => {
    const samples = new Float32Array([0, 0.5, -0.9, 0.1, 0.2, -0.3, 0, 0]);
    expect(computePeaks(samples, 4).map((p) => Number(p.toFixed(2)))).toEqual([0.5, 0.9, 0.3, 0]);
    expect(computePeaks(new Float32Array(), 4)).toEqual([]);
  });
});

describe('Waveform', () => {
  const segments: Segment[] = [
    { id: 0, start: 0, end: 4, text: 'a', speaker: 'SPEAKER_00', words: null },
    { id: 1, start: 5, end: 10, text: 'b', speaker: 'SPEAKER_01', words: null },
  ];

  it('draws who spoke when, and seeks where it is clicked', () => {
    const onSeek = vi.fn();
    render(<Waveform blob={null} duration={10} segments={segments} currentTime={2} onSeek={onSeek} />);
    const spans = Array.from(document.querySelectorAll<HTMLElement>('[data-speaker-span]'));
    expect(spans.map((s) => s.dataset.speakerSpan)).toEqual(['SPEAKER_00', 'SPEAKER_01']);
    expect(spans[1]!.style.left).toBe('50%');
    const wave = screen.getByRole('img', { name: 'Waveform' });
    wave.getBoundingClientRect = () => ({ left: 0, width: 200, top: 0, height: 10, right: 200, bottom: 10, x: 0, y: 0, toJSON: () => ({}) });
    fireEvent.click(wave, { clientX: 50 });
    expect(onSeek).toHaveBeenCalledWith(2.5);
  });

  it("lists each speaker's talk time and share, by the name given to it", () => {
    const speakers = [
      { id: 'SPEAKER_00', label: 'Ana', talk_time: 90 },
      { id: 'SPEAKER_01', label: null, talk_time: 30 },
    ];
    render(<Waveform blob={null} duration={10} segments={segments} speakers={speakers} currentTime={0} onSeek={() => {}} />);
    const rows = within(screen.getByRole('list', { name: 'Talk time' })).getAllByRole('listitem');
    expect(rows.map((r) => r.textContent)).toEqual(['Ana1:30 (75%)', 'SPEAKER_010:30 (25%)']);
  });
});
