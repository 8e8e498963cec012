import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Segment } from '../../../lib/api-types';
import { TranscriptViewer } from './TranscriptViewer';
import { findActiveIndex, flattenWords } from './transcript';

const segments: Segment[] = [
  {
    id: 0,
    start: 0,
    end: 2.2,
    text: ' And so, my fellow',
    speaker: 'SPEAKER_00',
    words: [
      { text: ' And', start: 0.0, end: 0.76 },
      { text: ' so,', start: 0.76, end: 1.08 },
      { text: ' my', start: 1.38, end: 1.42 },
      { text: ' fellow', start: 1.42, end: 1.76 },
    ],
  },
  {
    id: 1,
    start: 8.02,
    end: 9.28,
    text: ' ask what you',
    speaker: 'SPEAKER_01',
    words: [
      { text: ' ask', start: 8.02, end: 8.66 },
      { text: ' what', start: 8.66, end: 8.94 },
      { text: ' you', start: 8.94, end: 9.28 },
    ],
  },
];

afterEach(cleanup);

function highlighted(): string[] {
  return Array.from(document.querySelectorAll('[aria-current="true"]')).map((el) => el.textContent ?? '');
}

describe('findActiveIndex', () => {
  const words = flattenWords(segments);

  it('finds the word whose [start, end) holds the time', () => {
    expect(findActiveIndex(words, 0)).toBe(0);
    expect(findActiveIndex(words, 0.75)).toBe(0);
    expect(findActiveIndex(words, 0.76)).toBe(1);
    expect(findActiveIndex(words, 1.5)).toBe(3);
    expect(findActiveIndex(words, 9.0)).toBe(6);
  });

  it('is -1 in gaps, before the start and after the end', () => {
    expect(findActiveIndex(words, 1.2)).toBe(-1);
    expect(findActiveIndex(words, 5)).toBe(-1);
    expect(findActiveIndex(words, -1)).toBe(-1);
    expect(findActiveIndex(words, 9.28)).toBe(-1);
    expect(findActiveIndex([], 1)).toBe(-1);
  });
});

describe('TranscriptViewer', () => {
  it('highlights exactly the word being played', () => {
    const { rerender } = render(<TranscriptViewer segments={segments} currentTime={1.5} onSeek={() => {}} />);
    expect(highlighted()).toEqual(['fellow']);
    rerender(<TranscriptViewer segments={segments} currentTime={8.7} onSeek={() => {}} />);
    expect(highlighted()).toEqual(['what']);
    rerender(<TranscriptViewer segments={segments} currentTime={5} onSeek={() => {}} />);
    expect(highlighted()).toEqual([]);
  });

  it('seeks to a word when it is clicked', () => {
    const onSeek = vi.fn();
    render(<TranscriptViewer segments={segments} currentTime={0} onSeek={onSeek} />);
    fireEvent.click(screen.getByRole('button', { name: 'you' }));
    expect(onSeek).toHaveBeenCalledTimes(1);
    expect(onSeek).toHaveBeenCalledWith(8.94);
  });

  it('seeks to a segment start from its time stamp', () => {
    const onSeek = vi.fn();
    render(<TranscriptViewer segments={segments} currentTime={0} onSeek={onSeek} />);
    fireEvent.click(screen.getByRole('button', { name: 'Play from 0:08.0' }));
    expect(onSeek).toHaveBeenCalledWith(8.02);
  });

  it('shows each segment speaker', () => {
    render(<TranscriptViewer segments={segments} currentTime={0} onSeek={() => {}} />);
    expect(screen.getByText('SPEAKER_00')).toBeTruthy();
    expect(screen.getByText('SPEAKER_01')).toBeTruthy();
  });

  it('gives each speaker one colour, the same on every segment', () => {
    const three: Segment[] = [...segments, { id: 2, start: 10, end: 11, text: ' and', speaker: 'SPEAKER_00', words: null }];
    render(<TranscriptViewer segments={three} currentTime={0} onSeek={() => {}} />);
    const labels = Array.from(document.querySelectorAll<HTMLElement>('[data-speaker-label]'));
    expect(labels.map((el) => el.textContent)).toEqual(['SPEAKER_00', 'SPEAKER_01', 'SPEAKER_00']);
    expect(labels[0]!.className).toBe(labels[2]!.className);
    expect(labels[0]!.className).not.toBe(labels[1]!.className);
    expect(document.querySelectorAll('[data-speaker="SPEAKER_00"]')).toHaveLength(2);
  });

  it('shows a speaker label in place of its id', () => {
    render(
      <TranscriptViewer
        segments={segments}
        speakers={[{ id: 'SPEAKER_00', label: 'Diane' }, { id: 'SPEAKER_01', label: null }]}
        currentTime={0}
        onSeek={() => {}}
      />,
    );
    expect(screen.getByText('Diane').getAttribute('title')).toBe('SPEAKER_00');
    expect(screen.getByText('SPEAKER_01')).toBeTruthy();
    expect(screen.queryByText('SPEAKER_00')).toBeNull();
  });

  it('shows no speaker labels when segments have none', () => {
    const plain: Segment[] = segments.map((s) => ({ ...s, speaker: null }));
    render(<TranscriptViewer segments={plain} currentTime={0} onSeek={() => {}} />);
    expect(document.querySelectorAll('[data-speaker-label]')).toHaveLength(0);
  });

  it('highlights a whole segment when there are no word times', () => {
    const plain: Segment[] = segments.map((s) => ({ ...s, words: null }));
    render(<TranscriptViewer segments={plain} currentTime={8.5} onSeek={() => {}} />);
    const active = document.querySelector('[data-active="true"]');
    expect(active?.textContent).toBe('ask what you');
    expect(highlighted()).toEqual([]);
  });

  it('says so when the transcript is empty', () => {
    render(<TranscriptViewer segments={[]} currentTime={0} onSeek={() => {}} />);
    expect(screen.getByText(/no speech was found/)).toBeTruthy();
  });
});

describe('TranscriptViewer turns, search and names', () => {
  const turns: Segment[] = [
    { id: 0, start: 0, end: 1, text: ' Hello there.', speaker: 'SPEAKER_00', words: [{ text: ' Hello', start: 0, end: 0.5 }, { text: ' there.', start: 0.5, end: 1 }] },
    { id: 1, start: 1.2, end: 2, text: ' How are you?', speaker: 'SPEAKER_00', words: [{ text: ' How', start: 1.2, end: 1.4 }, { text: ' are', start: 1.4, end: 1.6 }, { text: ' you?', start: 1.6, end: 2 }] },
    { id: 2, start: 2.5, end: 3, text: ' Fine, Héloïse.', speaker: 'SPEAKER_01', words: [{ text: ' Fine,', start: 2.5, end: 2.7 }, { text: ' Héloïse.', start: 2.7, end: 3 }] },
  ];

  it('groups consecutive segments of one speaker under one chip', () => {
    render(<TranscriptViewer segments={turns} currentTime={0} onSeek={() => {}} />);
    const chips = Array.from(document.querySelectorAll('[data-speaker-label]')).map((el) => el.textContent);
    expect(chips).toEqual(['SPEAKER_00', 'SPEAKER_01']);
    expect(document.querySelectorAll('[data-turn]')).toHaveLength(2);
    expect(document.querySelectorAll('[data-segment-id]')).toHaveLength(3);
  });

  it('marks the words that match the search, ignoring case and accents', () => {
    render(<TranscriptViewer segments={turns} currentTime={0} onSeek={() => {}} query="HELOI" />);
    const marked = Array.from(document.querySelectorAll('[data-match="true"]')).map((el) => el.textContent);
    expect(marked).toEqual(['Héloïse.']);
  });

  it('renames a speaker in place', async () => {
    const onRename = vi.fn().mockResolvedValue(undefined);
    render(<TranscriptViewer segments={turns} currentTime={0} onSeek={() => {}} onRenameSpeaker={onRename} />);
    fireEvent.click(screen.getByRole('button', { name: 'Rename SPEAKER_01' }));
    fireEvent.change(screen.getByLabelText('Name for SPEAKER_01'), { target: { value: ' Alice ' } });
    fireEvent.submit(screen.getByRole('form', { name: 'Rename SPEAKER_01' }));
    await vi.waitFor(() => expect(onRename).toHaveBeenCalledWith('SPEAKER_01', 'Alice'));
  });
});
