import assert from 'node:assert';
import * as path from 'node:path';
import { crc32 } from './crc32.js';
import { readFileIfExists, writeFileAtomic } from './fsutil.js';

// Raft's persistent state besides the log. It must be durable before a vote
// or an append is answered, so every save is temp file + fsync + rename +
// fsync(dir): a crash leaves the old or the new state, never a torn one.
//
// File `hardstate` in the data directory (little-endian):
//   0  u32 magic "KMHS"
//   4  u32 format version (1)
//   8  u32 payload length
//  12  u32 CRC-32 of bytes 0..12 followed by the payload
//  16  payload: UTF-8 JSON {"term":…,"vote":…,"commit":…}
// JSON keeps node ids (strings such as "n1") readable in a hex dump.

export interface HardState {
  readonly term: number;
  /** Node voted for in `term`, or null. */
  readonly vote: string | null;
  readonly commit: number;
}

export const EMPTY_HARD_STATE: HardState = Object.freeze({ term: 0, vote: null, commit: 0 });

export const HARD_STATE_FILE = 'hardstate';
const MAGIC = 0x53484d4b; // "KMHS"
const VERSION = 1;
const HEADER_BYTES = 16;
/** Node ids are short; anything bigger than this is damage, not a state. */
const PAYLOAD_BYTES_MAX = 64 * 1024;

export class HardStateCorruptionError extends Error {
  override readonly name = 'HardStateCorruptionError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`hard state file ${file} is corrupt: ${reason}; refusing to start (it holds the current term and vote)`);
  }
}

function validState(v: unknown): v is HardState {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    Number.isSafeInteger(o['term']) && (o['term'] as number) >= 0 &&
    Number.isSafeInteger(o['commit']) && (o['commit'] as number) >= 0 &&
    (o['vote'] === null || (typeof o['vote'] === 'string' && o['vote'].length > 0))
  );
}

export function encodeHardState(hs: HardState): Buffer {
  assert(validState(hs), 'invalid hard state');
  const payload = Buffer.from(JSON.stringify({ term: hs.term, vote: hs.vote, commit: hs.commit }), 'utf8');
  assert(payload.length <= PAYLOAD_BYTES_MAX);
  const buf = Buffer.alloc(HEADER_BYTES + payload.length);
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt32LE(VERSION, 4);
  buf.writeUInt32LE(payload.length, 8);
  payload.copy(buf, HEADER_BYTES);
  buf.writeUInt32LE(crc32(payload, crc32(buf.subarray(0, 12))), 12);
  return buf;
}

export function decodeHardState(buf: Buffer, file: string): HardState {
  if (buf.length < HEADER_BYTES) throw new HardStateCorruptionError(file, `only ${buf.length} bytes`);
  if (buf.readUInt32LE(0) !== MAGIC) throw new HardStateCorruptionError(file, 'bad magic');
  const version = buf.readUInt32LE(4);
  if (version !== VERSION) throw new HardStateCorruptionError(file, `unknown format version ${version}`);
  const len = buf.readUInt32LE(8);
  if (len > PAYLOAD_BYTES_MAX || HEADER_BYTES + len !== buf.length) {
    throw new HardStateCorruptionError(file, `length ${len} does not match file size ${buf.length}`);
  }
  const payload = buf.subarray(HEADER_BYTES);
  if (crc32(payload, crc32(buf.subarray(0, 12))) !== buf.readUInt32LE(12)) {
    throw new HardStateCorruptionError(file, 'checksum mismatch');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new HardStateCorruptionError(file, 'payload is not JSON');
  }
  if (!validState(parsed)) throw new HardStateCorruptionError(file, 'payload has invalid fields');
  return Object.freeze({ term: parsed.term, vote: parsed.vote, commit: parsed.commit });
}

/** Reads `<dir>/hardstate`; the empty state when the file does not exist (a new node). */
export async function loadHardState(dir: string): Promise<HardState> {
  const file = path.join(dir, HARD_STATE_FILE);
  const buf = await readFileIfExists(file);
  return buf === null ? EMPTY_HARD_STATE : decodeHardState(buf, file);
}

/** Durably replaces `<dir>/hardstate`. Not safe to call concurrently for one dir: use HardStateStore. */
export async function saveHardState(dir: string, hs: HardState): Promise<void> {
  await writeFileAtomic(path.join(dir, HARD_STATE_FILE), encodeHardState(hs));
}

/**
 * Owns the hard state of one data directory: serialises saves (they share a
 * temp file) and checks Raft's rules on every change.
 */
export class HardStateStore {
  private current: HardState;
  private chain: Promise<void> = Promise.resolve();
  /** After a failed write the file may be behind `current`, so an identical save must still write. */
  private lastWriteFailed = false;

  private constructor(
    private readonly dir: string,
    initial: HardState,
  ) {
    this.current = initial;
  }

  static async open(dir: string): Promise<HardStateStore> {
    return new HardStateStore(dir, await loadHardState(dir));
  }

  /** The last state passed to save (durable once that save resolved). */
  get state(): HardState {
    return this.current;
  }

  save(hs: HardState): Promise<void> {
    const prev = this.current;
    // Terms only grow; within one term a vote, once cast, never changes
    // (two votes in one term could elect two leaders); commit never regresses.
    assert(hs.term >= prev.term, `hard state: term ${hs.term} < ${prev.term}`);
    assert(hs.term > prev.term || prev.vote === null || hs.vote === prev.vote, `hard state: vote changed within term ${hs.term}`);
    assert(hs.commit >= prev.commit, `hard state: commit ${hs.commit} < ${prev.commit}`);
    const same = hs.term === prev.term && hs.vote === prev.vote && hs.commit === prev.commit;
    if (same && !this.lastWriteFailed) return this.chain;
    const next: HardState = Object.freeze({ term: hs.term, vote: hs.vote, commit: hs.commit });
    this.current = next;
    const p = this.chain.then(async () => {
      try {
        await saveHardState(this.dir, next);
        this.lastWriteFailed = false;
      } catch (err) {
        this.lastWriteFailed = true;
        throw err;
      }
    });
    this.chain = p.catch(() => undefined);
    return p;
  }
}
