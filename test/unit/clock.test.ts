import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../dev/virtual-clock.js';
import { clockTimeout } from '../../lib/clock.js';

describe('clockTimeout', () => {
  it('aborts after the given time of its clock, as a TimeoutError', async () => {
    const clock = new VirtualClock({ scale: 1_000 });
    const { signal } = clockTimeout(clock, 30_000);

    await new Promise((resolve) => {
      signal.addEventListener('abort', resolve, { once: true });
    });

    expect(signal.reason).toMatchObject({ name: 'TimeoutError' });
  });

  it('never aborts once cancelled', async () => {
    const clock = new VirtualClock({ scale: 1_000 });
    const { signal, cancel } = clockTimeout(clock, 10);

    cancel();
    await clock.sleep(50);

    expect(signal.aborted).toBe(false);
  });
});
