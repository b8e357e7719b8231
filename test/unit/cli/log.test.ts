import { describe, expect, it } from 'vitest';
import { briefLog } from '../../../cli/log.js';

describe('briefLog', () => {
  it('writes warnings and errors as one short line, and keeps info and debug quiet', () => {
    const lines: string[] = [];
    const log = briefLog({ write: (text: string) => lines.push(text) });

    log.debug('page read', { formId: 842 });
    log.info('run finished', { totals: { fetched: 3 } });
    log.warn('cursor update failed; the next run reads the same window again', {
      forms: [842],
      error: { name: 'StoreWriteError', message: 'throttled', at: 1 },
    });
    log.error('form run failed; its cursor stays', {
      formId: 901,
      offset: 100,
      error: {
        name: 'TransportError',
        message: 'Weiban form/user/list gave no usable answer: HTTP 502',
      },
    });

    expect(lines).toEqual([
      'warning: cursor update failed; the next run reads the same window again (StoreWriteError: throttled)\n',
      'error: form run failed; its cursor stays (formId 901, offset 100: TransportError: Weiban form/user/list gave no usable answer: HTTP 502)\n',
    ]);
  });
});
