import type { FormEvent } from '../lib/events.js';

/** A unix-seconds instant as `2026-11-26 08:00:03Z`: UTC, unambiguous, sortable. */
export function formatTime(unixSeconds: number): string {
  return new Date(unixSeconds * 1000)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** A length of time as the two largest units: `42s`, `3m 12s`, `2h 5m`, `3d 4h`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const units: [number, string][] = [
    [86_400, 'd'],
    [3_600, 'h'],
    [60, 'm'],
    [1, 's'],
  ];
  const first = units.findIndex(([size]) => s >= size);
  const [bigSize, bigName] = units[first] ?? [1, 's'];
  const [smallSize, smallName] = units[first + 1] ?? [1, 's'];
  const big = Math.floor(s / bigSize);
  const small = Math.floor((s - big * bigSize) / smallSize);
  return small === 0 ? `${big}${bigName}` : `${big}${bigName} ${small}${smallName}`;
}

/** How long a command took: `0.4s`, `12.5s`, then as formatDuration. */
export function formatElapsed(ms: number): string {
  return ms < 60_000 ? `${(Math.max(0, ms) / 1000).toFixed(1)}s` : formatDuration(ms / 1000);
}

export const formatCount = (n: number): string => n.toLocaleString('en-US');

/** Per-second rate with one decimal below 10: `0.4/s`, `75/s`. */
export function formatRate(count: number, ms: number): string {
  const perSecond = ms <= 0 ? 0 : (count * 1000) / ms;
  return `${perSecond < 10 ? perSecond.toFixed(1) : formatCount(Math.round(perSecond))}/s`;
}

// East Asian wide and fullwidth characters take two terminal columns.
const WIDE =
  /[\u1100-\u115F\u2E80-\u303E\u3041-\u33FF\u3400-\u4DBF\u4E00-\u9FFF\uA000-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6]/u;

/** Terminal columns `text` takes. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) width += WIDE.test(char) ? 2 : 1;
  return width;
}

export function padDisplay(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

/** Cuts `text` to at most `width` columns, marking the cut with `…`. */
export function truncate(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  let out = '';
  for (const char of text) {
    if (displayWidth(out + char) > width - 1) break;
    out += char;
  }
  return `${out}…`;
}

/** Left-aligned columns, two spaces apart, sized to their widest cell. */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((title, column) =>
    Math.max(displayWidth(title), ...rows.map((row) => displayWidth(row[column] ?? ''))),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : padDisplay(cell, widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** One event as one line: submit time, form, submitter, city, event id. */
export function eventLine(event: FormEvent): string {
  const { data } = event;
  return [
    formatTime(data.submit_at),
    padDisplay(`form ${data.form_id}`, 10),
    padDisplay(blankAsDash(data.user_name), 12),
    padDisplay(blankAsDash(data.user_city), 8),
    event.id,
  ].join('  ');
}

function blankAsDash(value: string | null | undefined): string {
  return value === null || value === undefined || value.trim() === '' ? '—' : value.trim();
}
