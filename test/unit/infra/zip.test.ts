import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { extractZip, ZipError } from '../../../dev/zip.js';

interface Entry {
  readonly name: string;
  readonly data: Buffer;
  readonly method: 0 | 8;
  /** Stored in the archive instead of the data's own CRC-32. */
  readonly crc?: number;
}

/** A zip archive as serverless packages are laid out: local headers, central directory, end record. */
function zipOf(entries: readonly Entry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const body = entry.method === 8 ? deflateRawSync(entry.data) : entry.data;
    const crc = entry.crc ?? crc32(entry.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(entry.method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(entry.method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(entry.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

const scratch: string[] = [];

async function unpack(archive: Buffer): Promise<{ dir: string; written: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'weiban-forms-zip-'));
  scratch.push(dir);
  await writeFile(join(dir, 'archive.zip'), archive);
  const written = await extractZip(join(dir, 'archive.zip'), join(dir, 'out'));
  return { dir: join(dir, 'out'), written };
}

afterEach(async () => {
  await Promise.all(scratch.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('extractZip', () => {
  it('writes stored and deflated entries and directories with their exact bytes', async () => {
    const bundle = Buffer.from('exports.handler = async () => "ok";\n'.repeat(200));
    const map = Buffer.from([0, 1, 2, 250, 255]);

    const { dir, written } = await unpack(
      zipOf([
        { name: 'functions/', data: Buffer.alloc(0), method: 0 },
        { name: 'functions/poll.cjs', data: bundle, method: 8 },
        { name: 'functions/poll.cjs.map', data: map, method: 0 },
      ]),
    );

    expect(written).toEqual(['functions/', 'functions/poll.cjs', 'functions/poll.cjs.map']);
    expect(await readFile(join(dir, 'functions', 'poll.cjs'))).toEqual(bundle);
    expect(await readFile(join(dir, 'functions', 'poll.cjs.map'))).toEqual(map);
    expect((await readdir(dir, { recursive: true })).sort()).toEqual([
      'functions',
      'functions/poll.cjs',
      'functions/poll.cjs.map',
    ]);
  });

  it('refuses an entry whose bytes do not match its CRC-32', async () => {
    const archive = zipOf([{ name: 'poll.cjs', data: Buffer.from('code'), method: 8, crc: 1 }]);

    await expect(unpack(archive)).rejects.toThrow(
      /poll\.cjs: the unpacked bytes do not match the archive's size and CRC-32/,
    );
  });

  it('refuses an entry that would land outside the target directory', async () => {
    const archive = zipOf([{ name: '../escaped.js', data: Buffer.from('x'), method: 0 }]);

    await expect(unpack(archive)).rejects.toThrow(/\.\.\/escaped\.js: the name leads outside/);
  });

  it('says a file that is not a zip archive is not one', async () => {
    await expect(unpack(Buffer.from('{"not":"a zip"}'))).rejects.toBeInstanceOf(ZipError);
    await expect(unpack(Buffer.from('{"not":"a zip"}'))).rejects.toThrow(
      /not a zip archive \(no end of central directory\)/,
    );
  });
});
