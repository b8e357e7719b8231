import { describe, expect, it } from 'vitest';

import { EventClock } from '../../../bench/event-clock.js';
import { WeibanSimulator } from '../../../dev/simulator/index.js';

const START = Date.UTC(2026, 0, 5);
const BASE = 'http://weiban.invalid';

async function token(sim: WeibanSimulator): Promise<string> {
  const reply = await sim.fetch(`${BASE}/open-api/access_token/get`, {
    method: 'POST',
    body: JSON.stringify({ corp_id: 'sim-corp', secret: 'sim-secret' }),
  });
  const body = (await reply.json()) as { access_token: string };
  return body.access_token;
}

const listUrl = (accessToken: string) =>
  `${BASE}/open-api/smart_form/form/user/list?access_token=${accessToken}&form_id=842&status=submit&limit=100`;

describe('the event clock', () => {
  it('wakes sleepers in time order, those due at the same moment in the order they slept', async () => {
    // Prepare
    const clock = new EventClock(START);
    const woke: string[] = [];
    const sleeper = async (name: string, ms: number) => {
      await clock.sleep(ms);
      woke.push(`${name}@${clock.now() - START}`);
    };

    // Act
    const all = Promise.all([sleeper('c', 300), sleeper('a', 100), sleeper('b', 100)]);
    await clock.runUntil(START + 1_000);
    await all;

    // Assess
    expect(woke).toEqual(['a@100', 'b@100', 'c@300']);
    expect(clock.now()).toBe(START + 1_000);
  });

  it('drops a sleep whose signal aborts, and rejects it', async () => {
    // Prepare
    const clock = new EventClock(START);
    const abort = new AbortController();
    const sleeping = clock.sleep(500, abort.signal);

    // Act
    abort.abort(new Error('stop'));

    // Assess
    await expect(sleeping).rejects.toThrow('stop');
    expect(clock.pending).toBe(0);
  });
});

describe('the simulator answered in process', () => {
  it('lists a submitted row after its latency on the clock, with no socket', async () => {
    // Prepare
    const clock = new EventClock(START);
    const sim = new WeibanSimulator({ clock, latencyMs: 80 });
    sim.submit(842, { submit_at: START / 1000 - 5 });
    let answeredAt = 0;

    // Act
    const reply = (async () => {
      const accessToken = await token(sim);
      const response = await sim.fetch(listUrl(accessToken));
      answeredAt = clock.now();
      return (await response.json()) as { total: number };
    })();
    await clock.runUntil(START + 1_000);

    // Assess
    expect(await reply).toMatchObject({ total: 1 });
    expect(answeredAt - START).toBe(160);
    expect(sim.stats().requests).toMatchObject({ token: 1, list: 1 });
  });

  it('answers 10052 to a fifth request while four are in processing', async () => {
    // Prepare
    const clock = new EventClock(START);
    const sim = new WeibanSimulator({ clock, latencyMs: 80 });
    const accessToken = token(sim);
    await clock.runUntil(START + 100);

    // Act
    const replies = Promise.all(
      Array.from({ length: 5 }, async () => {
        const response = await sim.fetch(listUrl(await accessToken));
        return ((await response.json()) as { errcode: number }).errcode;
      }),
    );
    await clock.runUntil(START + 1_000);

    // Assess
    expect((await replies).sort()).toEqual([0, 0, 0, 0, 10052]);
  });
});
