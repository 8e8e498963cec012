import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { THEME_STORAGE_KEY } from './theme';
import { ThemeToggle } from './ThemeToggle';

function fakeSystem(dark: boolean) {
  const listeners: Array<() => void> = [];
  const query = {
    matches: dark,
    addEventListener: (_: string, fn: () => void) => listeners.push(fn),
    removeEventListener: vi.fn(),
  };
  vi.stubGlobal('matchMedia', vi.fn(() => query));
  return {
    change(next: boolean) {
      query.matches = next;
      listeners.forEach((fn) => fn());
    },
  };
}

const isDark = () => document.documentElement.classList.contains('dark');

describe('ThemeToggle', () => {
  beforeEach(() => {
    localStorage.clear();
    document.documentElement.className = '';
  });
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it('follows the system until a person chooses', () => {
    const system = fakeSystem(true);
    render(<ThemeToggle />);
    expect(isDark()).toBe(true);
    expect(screen.getByRole('button', { name: /Dark mode/ }).getAttribute('aria-pressed')).toBe('true');
    act(() => system.change(false));
    expect(isDark()).toBe(false);
    expect(localStorage.getItem(THEME_STORAGE_KEY)).toBeNull();
  });

  it('toggles, and remembers the choice over the system', () => {
    const system = fakeSystem(false);
    render(<ThemeToggle />);
    const button = screen.getByRole('button', { name: /Dark mode/ });
    fireEvent.click(button);
    expect(isDark()).toBe(true);
    expect(document.documentElement.style.colorScheme).toBe('dark');
    expect(localStorage.getItem(THEME_STORAGE_KEY)).toBe('dark');
    act(() => system.change(false));
    expect(isDark()).toBe(true);
    cleanup();
    document.documentElement.className = '';
    render(<ThemeToggle />);
    expect(isDark()).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: /Dark mode/ }));
    expect(isDark()).toBe(false);
    expect(localStorage.getItem(THEME_STORAGE_KEY)).toBe('light');
  });
});
