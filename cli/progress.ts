import { formatCount, formatRate } from './format.js';
import type { Output } from './io.js';

export interface Progress {
  /** `done` of `total` units so far; `detail` follows the counts (e.g. "12 published"). */
  update(done: number, total: number | undefined, detail: string): void;
  /** Ends the bar's line; the caller prints its summary after. */
  finish(): void;
}

const BAR_WIDTH = 24;
const TTY_EVERY_MS = 100;
const PLAIN_EVERY_MS = 2_000;

/**
 * A progress bar on a terminal (redrawn in place), plain lines every few seconds otherwise,
 * so logs of a piped run stay readable.
 */
export function progress(
  out: Output,
  label: string,
  unit: string,
  now: () => number = Date.now,
): Progress {
  const started = now();
  const tty = out.isTTY === true;
  let lastDraw = -Infinity;
  let pending: string | undefined;
  let drawn = false;

  const render = (done: number, total: number | undefined, detail: string): string => {
    const counts =
      total === undefined
        ? `${formatCount(done)} ${unit}`
        : `${formatCount(done)}/${formatCount(total)} ${unit}`;
    const rate = formatRate(done, now() - started);
    const bar =
      tty && total !== undefined && total > 0
        ? `[${'█'.repeat(Math.round((Math.min(done, total) / total) * BAR_WIDTH)).padEnd(BAR_WIDTH, '░')}] `
        : '';
    return `${label} ${bar}${counts} · ${detail} · ${rate}`;
  };

  return {
    update(done, total, detail) {
      const text = render(done, total, detail);
      const at = now();
      if (at - lastDraw < (tty ? TTY_EVERY_MS : PLAIN_EVERY_MS)) {
        pending = text;
        return;
      }
      lastDraw = at;
      pending = undefined;
      drawn = true;
      out.write(tty ? `\r\x1b[K${text}` : `${text}\n`);
    },
    finish() {
      if (pending !== undefined) {
        out.write(tty ? `\r\x1b[K${pending}` : `${pending}\n`);
        drawn = true;
      }
      if (tty && drawn) out.write('\n');
    },
  };
}
