import { createServer, type Server, type ServerResponse } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../dev/virtual-clock.js';
import { embeddedV4, refusal } from '../../../lib/webhooks/address.js';
import { NodeHttpSender, type Resolver } from '../../../lib/webhooks/http.js';

describe('addresses a webhook may never reach', () => {
  it.each([
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '127.0.0.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    '::',
    'fe80::1',
    'fd00::1',
    '::ffff:127.0.0.1',
    '::ffff:a9fe:a9fe',
    '64:ff9b::a00:1',
    '2002:0a00:0001::1',
    'ff02::1',
  ])('refuses %s', (address) => {
    expect(refusal(address, false)).toMatch(/private, loopback or reserved/);
  });

  it.each(['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946', '::ffff:93.184.216.34'])(
    'allows the public address %s',
    (address) => {
      expect(refusal(address, false)).toBeUndefined();
    },
  );

  it('allows loopback, and only loopback, in local runs', () => {
    expect(refusal('127.0.0.1', true)).toBeUndefined();
    expect(refusal('::1', true)).toBeUndefined();
    expect(refusal('::ffff:127.0.0.1', true)).toBeUndefined();
    expect(refusal('10.0.0.1', true)).toMatch(/private/);
    expect(refusal('169.254.169.254', true)).toMatch(/private/);
  });

  it('reads the IPv4 address inside IPv6 forms that carry one', () => {
    expect(embeddedV4('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(embeddedV4('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(embeddedV4('2002:c0a8:0101::')).toBe('192.168.1.1');
    expect(embeddedV4('2606:2800::1')).toBeUndefined();
  });
});

describe('the HTTP sender', () => {
  let server: Server;
  let port: number;
  let handle: (url: string, res: ServerResponse) => void;
  const seen: { host: string | undefined; url: string | undefined; body: string }[] = [];

  beforeEach(async () => {
    seen.length = 0;
    handle = (_url, res) => {
      res.end('ok');
    };
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen.push({ host: req.headers.host, url: req.url, body: Buffer.concat(chunks).toString() });
        handle(req.url ?? '', res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    port = typeof address === 'object' && address !== null ? address.port : 0;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  });

  const sender = (
    options: { resolve?: Resolver; allowLoopback?: boolean; clock?: VirtualClock } = {},
  ) =>
    new NodeHttpSender({
      clock: options.clock ?? new VirtualClock(),
      allowLoopback: options.allowLoopback ?? true,
      ...(options.resolve !== undefined && { resolve: options.resolve }),
    });

  it('posts the body byte for byte with the given headers', async () => {
    const body = '{"id":"weiban:c:1:2","data":{"user_name":"张三"}}';

    const result = await sender().post({
      url: `http://127.0.0.1:${port}/hook?x=1`,
      headers: { 'content-type': 'application/json' },
      body,
    });

    expect(result).toMatchObject({ kind: 'answer', status: 200 });
    expect(seen).toEqual([{ host: `127.0.0.1:${port}`, url: '/hook?x=1', body }]);
  });

  it('refuses a host that resolves to a private address, sending nothing', async () => {
    const resolve: Resolver = () => Promise.resolve([{ address: '10.0.0.7', family: 4 }]);

    const result = await sender({ resolve, allowLoopback: false }).post({
      url: `https://crm.example.com/hook`,
      headers: {},
      body: '{}',
    });

    expect(result).toMatchObject({ kind: 'failure', failure: 'refused' });
    expect(result.kind === 'failure' && result.detail).toContain('10.0.0.7');
  });

  it('refuses a host when any of its addresses is private', async () => {
    const resolve: Resolver = () =>
      Promise.resolve([
        { address: '93.184.216.34', family: 4 },
        { address: '::ffff:169.254.169.254', family: 6 },
      ]);

    const result = await sender({ resolve, allowLoopback: false }).post({
      url: 'https://crm.example.com/hook',
      headers: {},
      body: '{}',
    });

    expect(result).toMatchObject({ kind: 'failure', failure: 'refused' });
  });

  it('refuses the Lambda runtime API on loopback outside local runs, by literal address too', async () => {
    const result = await sender({ allowLoopback: false }).post({
      url: 'https://127.0.0.1:9001/2018-06-01/runtime/invocation/next',
      headers: {},
      body: '{}',
    });

    expect(result).toMatchObject({ kind: 'failure', failure: 'refused' });
  });

  it('connects to the address it checked, not to a second answer of the DNS', async () => {
    let lookups = 0;
    const resolve: Resolver = () => {
      lookups += 1;
      return Promise.resolve([{ address: '127.0.0.1', family: 4 }]);
    };

    const result = await sender({ resolve }).post({
      url: `http://localhost:${port}/hook`,
      headers: {},
      body: '{}',
    });

    expect(result).toMatchObject({ kind: 'answer', status: 200 });
    expect(lookups).toBe(1);
  });

  it('refuses plain http to anything but loopback', async () => {
    const result = await sender().post({
      url: 'http://crm.example.com/hook',
      headers: {},
      body: '',
    });

    expect(result).toMatchObject({ kind: 'failure', failure: 'refused' });
  });

  it('does not follow a redirect', async () => {
    handle = (_url, res) => {
      res.writeHead(301, { location: `http://127.0.0.1:${port}/elsewhere` }).end();
    };

    const result = await sender().post({
      url: `http://127.0.0.1:${port}/hook`,
      headers: {},
      body: '',
    });

    expect(result).toMatchObject({
      kind: 'answer',
      status: 301,
      location: `http://127.0.0.1:${port}/elsewhere`,
    });
    expect(seen.map((request) => request.url)).toEqual(['/hook']);
  });

  it('gives up after 15 s of its clock without an answer', async () => {
    handle = () => undefined; // never answers
    const clock = new VirtualClock({ scale: 1_000 });

    const result = await sender({ clock }).post({
      url: `http://127.0.0.1:${port}/slow`,
      headers: {},
      body: '',
    });

    expect(result).toMatchObject({ kind: 'failure', failure: 'timeout' });
    expect(result.latencyMs).toBeGreaterThanOrEqual(15_000);
  });

  it('reads at most 64 KB of an answer', async () => {
    handle = (_url, res) => {
      res.end('x'.repeat(200_000));
    };

    const result = await sender().post({
      url: `http://127.0.0.1:${port}/big`,
      headers: {},
      body: '',
    });

    expect(result.kind === 'answer' && result.body.length).toBe(65_536);
  });

  it('reports a connection cut before any answer as a network failure', async () => {
    handle = (_url, res) => {
      res.socket?.destroy();
    };

    const result = await sender().post({
      url: `http://127.0.0.1:${port}/cut`,
      headers: {},
      body: '',
    });

    expect(result).toMatchObject({ kind: 'failure', failure: 'network' });
  });
});
