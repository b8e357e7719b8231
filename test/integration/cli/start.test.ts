import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WeibanSimulator } from '../../../dev/simulator/index.js';
import { launch, leftovers, ROOT, waitForOutput } from './processes.js';

const EVENT_LINE =
  /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z {2}form (\d+) +\S+ +\S+ +weiban:([\w-]+):(\d+):(\d+)$/gm;
const SUMMARY =
  /^run 1 · forms: (\d+) ok · fetched \d+ · new (\d+) · duplicate 0 · published (\d+) · failed 0 · pages \d+ · \d+ ms$/m;
const STACK_FRAME = /^\s+at /m;
// One line per delivery a local receiver accepted (dev/start-webhooks.ts).
const VERIFIED = /^webhook crm: standard (weiban:[\w-]+:\d+:\d+) verified \(\d+ bytes\)$/gm;
const WECOM = /^webhook sales: WeCom 新线索：(.+)（(.+)）提交了《(.+)》 \| > 提交时间：/gm;

const events = (stdout: string) => [...stdout.matchAll(EVENT_LINE)];

describe('npm start', () => {
  const temp = mkdtempSync(join(tmpdir(), 'weiban-start-'));
  afterAll(() => {
    rmSync(temp, { recursive: true, force: true });
  });

  it('--once prints every form’s submitters since START_FROM, the run summary and each webhook delivery, then leaves no process behind', async () => {
    const marker = randomUUID();

    // A scripted run: --seed fixes the simulator's submitters, so nothing here is left to chance.
    const run = await launch('npm', ['start', '--', '--once', '--seed', '4242'], { marker }).done;

    expect(run.code).toBe(0);
    const lines = events(run.stdout);
    const summary = SUMMARY.exec(run.stdout);
    const byForm: Record<string, number[]> = {};
    for (const [, , , formId = '', uId] of lines) (byForm[formId] ??= []).push(Number(uId));
    for (const uIds of Object.values(byForm)) uIds.sort((a, b) => a - b);
    expect(run.stdout).toContain('forms 842, 901, 977 (--seed 4242)');
    expect(summary?.slice(1)).toEqual(['3', '12', '12']);
    // Eight submitters a form, half of them after START_FROM: the simulator numbers them in turn.
    expect(byForm).toEqual({
      '842': [1, 2, 3, 4],
      '901': [9, 10, 11, 12],
      '977': [17, 18, 19, 20],
    });
    // Every event reached the standard receiver, which verified its signature with the
    // standardwebhooks package, and the WeCom group as one message each (12 < 20 a minute).
    const ids = lines.map((line) => `weiban:${line[2] ?? ''}:${line[3] ?? ''}:${line[4] ?? ''}`);
    const verified = [...run.stdout.matchAll(VERIFIED)].map((line) => line[1]);
    expect(verified.sort()).toEqual([...ids].sort());
    expect(run.stdout.match(WECOM)).toHaveLength(12);
    expect(run.stdout).toMatch(/^webhook ops: Feishu /m);
    expect(run.stdout).toMatch(/^webhook alerts: DingTalk /m);
    expect(run.stdout).toMatch(
      /^ {2}Webhooks {2}crm: a standard receiver at http:\/\/127\.0\.0\.1:\d+, verifying every signature$/m,
    );
    expect(run.stdout).not.toMatch(/^\{/m);
    expect(run.stderr).not.toMatch(STACK_FRAME);
    expect(await leftovers(marker)).toEqual([]);
  });

  it('keeps polling until Ctrl-C, with an env file the CLI finds the webhook endpoints by, then stops every child process', async () => {
    const marker = randomUUID();
    const started = launch('npm', ['start', '--', '--interval', '1', '--seed', '7'], {
      marker,
    });

    await waitForOutput(started, (output) => /^run 3 · /m.test(output));
    // The env file it writes lets the CLI in another shell find the webhook endpoints.
    const listed = await launch(
      'bash',
      ['-c', 'source .local/weiban-forms.env && node bin/weiban-forms.js webhooks list'],
      { marker },
    ).done;
    started.signalGroup('SIGINT');
    const run = await started.done;

    const dynamoEndpoint = /DynamoDB Local at (\S+),/.exec(run.stdout)?.[1] ?? 'none';
    expect(run.stdout).toMatch(/^run 2 · forms: 3 ok · /m);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(
      /^table weiban-forms-local · 4 webhook endpoint\(s\)\nNAME +FORMAT +RATE +QUEUED +DEAD LETTERS\ncrm +standard +600\/min +\d+ +0\nsales +wecom +20\/min +\d+ +0\nops +feishu +100\/min +\d+ +0\nalerts +dingtalk +20\/min +\d+ +0\n$/,
    );
    expect(run.stdout).toContain(
      'Stopped: the simulator, the webhook receivers, DynamoDB Local and moto are down.',
    );
    // The deliveries go on in the background while it polls.
    expect(run.stdout).toMatch(/^webhook crm: standard weiban:sim-corp:\d+:\d+ verified/m);
    expect(run.stderr).not.toMatch(STACK_FRAME);
    expect(await leftovers(marker)).toEqual([]);
    let after = '';
    try {
      after = readFileSync(join(ROOT, '.local/weiban-forms.env'), 'utf8');
    } catch {
      // Removed, as it should be.
    }
    expect(dynamoEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(after).not.toContain(dynamoEndpoint);
  });

  it('names a missing dependency in one sentence and exits non-zero', async () => {
    const marker = randomUUID();
    const oldJava = join(temp, 'java');
    writeFileSync(oldJava, '#!/bin/sh\necho \'openjdk version "11.0.2" 2019-01-15\' >&2\n');
    chmodSync(oldJava, 0o755);

    const run = await launch('npm', ['start', '--', '--once'], {
      marker,
      env: { PATH: `${temp}:${process.env.PATH ?? ''}` },
    }).done;

    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(
      'npm start: DynamoDB Local needs Java 17+: `java` on PATH is Java 11 (Debian: apt-get install openjdk-17-jre-headless)\n',
    );
    expect(run.stderr + run.stdout).not.toMatch(STACK_FRAME);
    expect(await leftovers(marker)).toEqual([]);
  });

  it('polls the Weiban that WEIBAN_CORP_ID, WEIBAN_SECRET and FORM_IDS point at, without the simulator', async () => {
    const weiban = new WeibanSimulator({ corpId: 'corp-real', secret: 'real-secret' });
    const url = await weiban.start();
    const nowS = Math.floor(Date.now() / 1000);
    const rows = weiban.submitMany(501, 4, (i) => ({ submit_at: nowS - 300 + i }));
    const marker = randomUUID();

    try {
      const run = await launch('npm', ['start', '--', '--once'], {
        marker,
        env: {
          WEIBAN_BASE_URL: url,
          WEIBAN_CORP_ID: 'corp-real',
          WEIBAN_SECRET: 'real-secret',
          FORM_IDS: '501',
          START_FROM: String(nowS - 3_600),
        },
      }).done;

      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`  Weiban    ${url}, corp corp-real, forms 501\n`);
      expect(run.stdout).not.toContain('simulator');
      expect(
        events(run.stdout)
          .map((line) => `${line[2]}:${line[4]}`)
          .sort(),
      ).toEqual(rows.map((row) => `corp-real:${row.u_id}`).sort());
      expect(run.stdout + run.stderr).not.toContain('real-secret');
      expect(weiban.stats().requests).toMatchObject({ token: 1, list: 1 });
      expect(await leftovers(marker)).toEqual([]);
    } finally {
      await weiban.stop();
    }
  });

  it('says which Weiban setting is missing for a real run', async () => {
    const run = await launch('npm', ['start', '--', '--once'], {
      marker: randomUUID(),
      env: { WEIBAN_CORP_ID: 'corp-real', WEIBAN_SECRET: 'real-secret' },
    }).done;

    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(
      'npm start: polling the real Weiban needs WEIBAN_CORP_ID, WEIBAN_SECRET and FORM_IDS; FORM_IDS is not set',
    );
  });
});
