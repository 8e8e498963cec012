import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Entity } from '../../../lib/api-types';
import { EntityList, RedactedText, countByType } from './EntityList';

const entities: Entity[] = [
  { text: 'Diane', entity_type: 'PERSON', start_char: 92, end_char: 97, start: 9.1, end: 9.5, confidence: 0.85 },
  { text: 'New Jersey', entity_type: 'LOCATION', start_char: 101, end_char: 111, start: 9.6, end: 10.2, confidence: 0.85 },
  { text: 'Sheila', entity_type: 'PERSON', start_char: 121, end_char: 127, start: 11.0, end: 11.4, confidence: 0.85 },
  { text: 'Texas', entity_type: 'LOCATION', start_char: 131, end_char: 136, start: null, end: null, confidence: null },
];

afterEach(cleanup);

describe('countByType', () => {
  it('counts entities per type, most frequent first', () => {
    expect(countByType([...entities, { ...entities[0]!, text: 'Tom' }])).toEqual([
      ['PERSON', 3],
      ['LOCATION', 2],
    ]);
    expect(countByType([])).toEqual([]);
  });
});

describe('EntityList', () => {
  it('lists each entity with its type, text and time', () => {
    render(<EntityList entities={entities} onSeek={() => {}} />);
    const items = within(screen.getByRole('list', { name: 'Entities' })).getAllByRole('listitem');
    expect(items.map((li) => li.textContent)).toEqual([
      '0:09.1DianePERSON',
      '0:09.6New JerseyLOCATION',
      '0:11.0SheilaPERSON',
      '–TexasLOCATION',
    ]);
    expect(screen.getByRole('group', { name: 'Entities by type' }).textContent).toBe('LOCATION 2PERSON 2');
  });

  it('seeks to an entity when it is clicked, like a word', () => {
    const onSeek = vi.fn();
    render(<EntityList entities={entities} onSeek={onSeek} />);
    fireEvent.click(screen.getByRole('button', { name: /New Jersey/ }));
    expect(onSeek).toHaveBeenCalledWith(9.6);
    // An entity whose words were not located in the audio has no time to play.
    expect(screen.queryByRole('button', { name: /Texas/ })).toBeNull();
  });

  it('highlights the entity being played', () => {
    render(<EntityList entities={entities} currentTime={11.2} onSeek={() => {}} />);
    const current = document.querySelectorAll('[aria-current="true"]');
    expect(current).toHaveLength(1);
    expect(current[0]!.textContent).toContain('Sheila');
  });

  it('says so when nothing was found', () => {
    render(<EntityList entities={[]} onSeek={() => {}} />);
    expect(screen.getByText('No personal data was found.')).toBeTruthy();
  });
});

describe('RedactedText', () => {
  it('sets the masks off from the text', () => {
    render(<RedactedText text="This is {PERSON_1} in {LOCATION}. And I'm {PERSON_2}." />);
    const region = screen.getByRole('group', { name: 'Redacted transcript' });
    expect(region.textContent).toBe("This is {PERSON_1} in {LOCATION}. And I'm {PERSON_2}.");
    expect(Array.from(region.querySelectorAll('mark')).map((m) => m.textContent)).toEqual([
      '{PERSON_1}',
      '{LOCATION}',
      '{PERSON_2}',
    ]);
  });
});
