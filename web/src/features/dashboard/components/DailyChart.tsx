import type { DayUsage } from '../api/operations';

export interface Series {
  label: string;
  /** A Tailwind fill class (with its dark variant). */
  fill: string;
  value: (day: DayUsage) => number;
}

/** "2026-12-05" -> "5 Dec" (the day is UTC; shown without a time zone shift). */
export function shortDay(iso: string): string {
  const [y, m, d] = iso.split('-').map(Number);
  if (!y || !m || !d) return iso;
  return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });
}

/**
 * One small bar chart per day, bars stacked from `series`, with the numbers in a
 * table for screen readers (and for anyone who hovers: each bar has a title).
 */
export function DailyChart({
  title,
  days,
  series,
  format = (n) => String(n),
}: {
  title: string;
  days: DayUsage[];
  series: Series[];
  format?: (n: number) => string;
}) {
  const totals = days.map((d) => series.reduce((sum, s) => sum + s.value(d), 0));
  const max = Math.max(...totals, 0);
  const width = 100 / Math.max(days.length, 1);
  const latest = totals[totals.length - 1] ?? 0;
  return (
    <figure className="space-y-2" data-chart={title}>
      <figcaption className="flex items-baseline justify-between gap-2">
        <span className="text-sm font-medium text-slate-700 dark:text-slate-200">{title}</span>
        <span className="text-xs text-slate-500 dark:text-slate-400">
          today <span className="font-semibold tabular-nums text-slate-800 dark:text-slate-100">{format(latest)}</span>
        </span>
      </figcaption>
      <svg viewBox="0 0 100 40" preserveAspectRatio="none" className="h-20 w-full" aria-hidden="true">
        <line x1="0" y1="40" x2="100" y2="40" className="stroke-slate-200 dark:stroke-slate-700" strokeWidth="0.5" />
        {days.map((day, i) => {
          let y = 40;
          return series.map((s) => {
            const v = s.value(day);
            const h = max > 0 ? (v / max) * 38 : 0;
            y -= h;
            return h > 0 ? (
              <rect key={`${day.date}-${s.label}`} x={i * width + width * 0.15} y={y} width={width * 0.7} height={h} className={s.fill}>
                <title>{`${shortDay(day.date)}: ${s.label} ${format(v)}`}</title>
              </rect>
            ) : null;
          });
        })}
      </svg>
      <div className="flex justify-between text-[10px] text-slate-400">
        <span>{days[0] ? shortDay(days[0].date) : ''}</span>
        <span>{days.length ? shortDay(days[days.length - 1]!.date) : ''}</span>
      </div>
      {series.length > 1 ? (
        <p className="flex flex-wrap gap-3 text-xs text-slate-500 dark:text-slate-400">
          {series.map((s) => (
            <span key={s.label} className="inline-flex items-center gap-1">
              <svg viewBox="0 0 10 10" className="h-2.5 w-2.5" aria-hidden="true">
                <rect width="10" height="10" className={s.fill} />
              </svg>
              {s.label}
            </span>
          ))}
        </p>
      ) : null}
      <table className="sr-only">
        <caption>{title} per day</caption>
        <thead>
          <tr>
            <th scope="col">Day</th>
            {series.map((s) => (
              <th key={s.label} scope="col">
                {s.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {days.map((d) => (
            <tr key={d.date}>
              <th scope="row">{d.date}</th>
              {series.map((s) => (
                <td key={s.label}>{format(s.value(d))}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
