import { describe, expect, it } from 'vitest';
import { progress } from '../../../cli/progress.js';

function output(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, out: { isTTY, write: (text: string) => writes.push(text) } };
}

describe('progress', () => {
  it('redraws one line with a bar, counts and rate on a terminal', () => {
    const { writes, out } = output(true);
    let now = 0;
    const bar = progress(out, 'replay form 842', 'events', () => now);

    now = 1_000;
    bar.update(50, 200, '50 published · 0 failed');
    now = 2_000;
    bar.update(200, 200, '200 published · 0 failed');
    bar.finish();

    expect(writes).toEqual([
      '\r\x1b[Kreplay form 842 [██████░░░░░░░░░░░░░░░░░░] 50/200 events · 50 published · 0 failed · 50/s',
      '\r\x1b[Kreplay form 842 [████████████████████████] 200/200 events · 200 published · 0 failed · 100/s',
      '\n',
    ]);
  });

  it('prints plain lines no more than every two seconds elsewhere, and always the last', () => {
    const { writes, out } = output(false);
    let now = 0;
    const bar = progress(out, 'backfill form 842', 'rows', () => now);

    for (let done = 100; done <= 1_000; done += 100) {
      now += 500;
      bar.update(done, 1_000, `${done} published`);
    }
    bar.finish();

    expect(writes).toEqual([
      'backfill form 842 100/1,000 rows · 100 published · 200/s\n',
      'backfill form 842 500/1,000 rows · 500 published · 200/s\n',
      'backfill form 842 900/1,000 rows · 900 published · 200/s\n',
      'backfill form 842 1,000/1,000 rows · 1000 published · 200/s\n',
    ]);
  });
});
