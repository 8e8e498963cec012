/**
 * Light and dark themes. The choice ("light", "dark", or none: follow the
 * operating system) is kept in localStorage; the `dark` class on <html> turns on
 * Tailwind's `dark:` variants (see index.css). index.html applies the same rule
 * before the first paint, so a dark page never flashes white.
 */

export type Theme = 'light' | 'dark';

export const THEME_STORAGE_KEY = 'dalston.console.theme';

/** The stored choice, or null to follow the system. */
export function storedTheme(): Theme | null {
  try {
    const value = localStorage.getItem(THEME_STORAGE_KEY);
    return value === 'light' || value === 'dark' ? value : null;
  } catch {
    return null;
  }
}

export function systemTheme(): Theme {
  return typeof window !== 'undefined' && window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function storeTheme(theme: Theme | null): void {
  try {
    if (theme) localStorage.setItem(THEME_STORAGE_KEY, theme);
    else localStorage.removeItem(THEME_STORAGE_KEY);
  } catch {
    // Storage disabled: the choice lasts for this page.
  }
}

export function applyTheme(theme: Theme): void {
  const root = document.documentElement;
  root.classList.toggle('dark', theme === 'dark');
  root.style.colorScheme = theme;
}
