import { useEffect, useState } from 'react';
import { Button } from '../components/ui';
import { applyTheme, storeTheme, storedTheme, systemTheme, type Theme } from './theme';

/** The theme now, following the system until a person picks one. */
export function useTheme(): { theme: Theme; followsSystem: boolean; setTheme: (theme: Theme | null) => void } {
  const [choice, setChoice] = useState<Theme | null>(storedTheme);
  const [system, setSystem] = useState<Theme>(systemTheme);
  const theme = choice ?? system;

  useEffect(() => {
    const query = window.matchMedia?.('(prefers-color-scheme: dark)');
    if (!query) return;
    const onChange = () => setSystem(query.matches ? 'dark' : 'light');
    query.addEventListener('change', onChange);
    return () => query.removeEventListener('change', onChange);
  }, []);
  useEffect(() => applyTheme(theme), [theme]);

  return {
    theme,
    followsSystem: choice === null,
    setTheme: (next) => {
      storeTheme(next);
      setChoice(next);
    },
  };
}

/** One button: switches between light and dark, and remembers the choice. */
export function ThemeToggle({ className }: { className?: string }) {
  const { theme, followsSystem, setTheme } = useTheme();
  const dark = theme === 'dark';
  return (
    <Button
      variant="ghost"
      size="sm"
      className={className}
      aria-pressed={dark}
      title={followsSystem ? 'Following your system setting' : 'Your choice, remembered on this device'}
      onClick={() => setTheme(dark ? 'light' : 'dark')}
    >
      <span aria-hidden="true">{dark ? '☾' : '☀'}</span>
      Dark mode
    </Button>
  );
}
