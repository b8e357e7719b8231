import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';

/** Thrown for an archive this reader cannot or will not unpack; the message says why. */
export class ZipError extends Error {
  override readonly name = 'ZipError';
}

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_DIRECTORY_ENTRY = 0x02014b50;
const LOCAL_FILE_HEADER = 0x04034b50;
// The end record is 22 bytes plus a comment of at most 65,535.
const END_RECORD_BYTES = 22;
const MAX_COMMENT_BYTES = 0xffff;
const STORED = 0;
const DEFLATED = 8;
const ZIP64_MARKER = 0xffffffff;

/**
 * Unpacks a zip archive (stored or deflated entries, as serverless packages are) into `dir`,
 * checking each entry's size and CRC-32. Refuses zip64 archives and entry names that would
 * land outside `dir`. Resolves to the archive's entry names (directories end with `/`), in
 * archive order.
 *
 * A few lines of Node instead of `unzip`, which a fresh machine may not have.
 */
export async function extractZip(zipPath: string, dir: string): Promise<string[]> {
  const archive = await readFile(zipPath);
  const fail = (reason: string): never => {
    throw new ZipError(`${zipPath}: ${reason}`);
  };
  const end = findEndRecord(archive) ?? fail('not a zip archive (no end of central directory)');
  const entries = archive.readUInt16LE(end + 10);
  const directoryOffset = archive.readUInt32LE(end + 16);
  if (directoryOffset === ZIP64_MARKER) fail('zip64 archives are not supported');

  const names: string[] = [];
  let at = directoryOffset;
  for (let index = 0; index < entries; index += 1) {
    if (at + 46 > archive.length || archive.readUInt32LE(at) !== CENTRAL_DIRECTORY_ENTRY) {
      fail(`central directory entry #${index + 1} is damaged`);
    }
    const flags = archive.readUInt16LE(at + 8);
    const method = archive.readUInt16LE(at + 10);
    const expectedCrc = archive.readUInt32LE(at + 16);
    const compressedSize = archive.readUInt32LE(at + 20);
    const size = archive.readUInt32LE(at + 24);
    const nameLength = archive.readUInt16LE(at + 28);
    const extraLength = archive.readUInt16LE(at + 30);
    const commentLength = archive.readUInt16LE(at + 32);
    const localOffset = archive.readUInt32LE(at + 42);
    const name = archive.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;

    if ([compressedSize, size, localOffset].includes(ZIP64_MARKER)) {
      fail(`${name}: zip64 entries are not supported`);
    }
    if ((flags & 0x1) !== 0) fail(`${name}: encrypted entries are not supported`);
    const target = safeTarget(dir, name) ?? fail(`${name}: the name leads outside ${dir}`);
    names.push(name);
    if (name.endsWith('/')) {
      await mkdir(target, { recursive: true });
      continue;
    }

    if (archive.readUInt32LE(localOffset) !== LOCAL_FILE_HEADER) {
      fail(`${name}: the local header is missing`);
    }
    const dataStart =
      localOffset +
      30 +
      archive.readUInt16LE(localOffset + 26) +
      archive.readUInt16LE(localOffset + 28);
    const compressed = archive.subarray(dataStart, dataStart + compressedSize);
    const data =
      method === STORED
        ? compressed
        : method === DEFLATED
          ? inflateRawSync(compressed)
          : fail(`${name}: compression method ${method} is not supported`);
    if (data.length !== size || crc32(data) !== expectedCrc) {
      fail(`${name}: the unpacked bytes do not match the archive's size and CRC-32`);
    }
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, data);
  }
  return names;
}

function findEndRecord(archive: Buffer): number | undefined {
  const lowest = Math.max(0, archive.length - END_RECORD_BYTES - MAX_COMMENT_BYTES);
  for (let at = archive.length - END_RECORD_BYTES; at >= lowest; at -= 1) {
    if (archive.readUInt32LE(at) === END_OF_CENTRAL_DIRECTORY) return at;
  }
  return undefined;
}

function safeTarget(dir: string, name: string): string | undefined {
  const relative = normalize(name);
  if (name === '' || isAbsolute(name) || relative.split(sep).includes('..')) return undefined;
  return join(dir, relative);
}
