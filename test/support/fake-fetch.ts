import { abortReason } from '../../lib/clock.js';

/** One scripted answer of a fake Weiban. */
export interface Answer {
  readonly status?: number;
  readonly body: string;
  readonly delayMs?: number;
}

export interface FakeFetch {
  readonly fetch: typeof fetch;
  /** Every URL requested, in order. */
  readonly urls: URL[];
  readonly bodies: (string | undefined)[];
}

/** A fetch that answers from a script (the last answer repeats) and records what was asked. */
export function scriptedFetch(...answers: (Answer | ((url: URL) => Answer))[]): FakeFetch {
  const urls: URL[] = [];
  const bodies: (string | undefined)[] = [];
  let next = 0;
  const fake = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input);
    urls.push(url);
    bodies.push(typeof init?.body === 'string' ? init.body : undefined);
    const script = answers[Math.min(next, answers.length - 1)];
    next += 1;
    if (script === undefined) throw new Error('no answer scripted');
    const answer = typeof script === 'function' ? script(url) : script;
    if (answer.delayMs !== undefined) {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, answer.delayMs);
        init?.signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(abortReason(init.signal ?? undefined));
        });
      });
    }
    return new Response(answer.body, { status: answer.status ?? 200 });
  };
  return { fetch: fake, urls, bodies };
}

export const json = (value: unknown, status = 200): Answer => ({
  status,
  body: JSON.stringify(value),
});
export const errcode = (code: number, errmsg = 'error'): Answer => json({ errcode: code, errmsg });
