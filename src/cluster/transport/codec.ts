// Binary form of everything that travels between peers: Raft messages, the
// handshake and forwarded client commands.
//
//   frame   = u32 payloadLength | u32 crc32(payload) | payload
//   payload = u8 version | u8 kind | body
//
// Little-endian. Indexes, terms and byte offsets take 64 bits on the wire (as in
// the WAL) so the format outlives this implementation's 2^53 limit. Node ids and
// the cluster id are UTF-8 with a u16 length; client arguments and replies are
// latin1 byte strings with a u32 length, so they cross the wire 1:1.
//
// The layout of each body is written once, against a `Sink`: a measuring sink
// sizes the frame, then a writing sink fills a buffer of exactly that size, so
// size and layout can never disagree and payload bytes are copied exactly once.

import assert from 'node:assert/strict';
import { readU64, writeU64 } from '../../storage/binary.js';
import { crc32 } from '../../storage/crc32.js';
import type { ReplyMode } from '../../protocol/reply.js';
import type {
  ConfState,
  Entry,
  EntryType,
  Message,
  MessageType,
  NodeId,
  SnapshotMeta,
} from '../../raft/types.js';

/** 2: the handshake carries a nonce and a proof of the cluster secret (peer-auth.ts). */
export const CODEC_VERSION = 2;
export const FRAME_HEADER_BYTES = 8;
/** version + kind: the smallest payload that can be valid. */
const PAYLOAD_MIN_BYTES = 2;
const STR16_MAX_BYTES = 0xffff;

/** Raised for any malformed input; the transport closes the connection that sent it. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
}

/** A client command a follower hands to the leader. */
export interface ForwardRequest {
  readonly db: number;
  readonly argv: readonly string[];
  readonly mode: ReplyMode;
  /** A cluster request answered by the leader itself, not a write. */
  readonly readOnly: boolean;
  /** A write of an `eventual` client: answer it once the leader has appended it. */
  readonly ackOnAppend: boolean;
}

/** Bits of a forward request's flags byte. */
const FORWARD_READ_ONLY = 1;
const FORWARD_ACK_ON_APPEND = 2;

export type Frame =
  /**
   * `nonce`: the dialer's, echoed in the reply; `proof`: HMAC under the cluster secret
   * (peer-auth.ts), '' when the sender has no secret.
   */
  | { readonly kind: 'handshake'; readonly clusterId: string; readonly from: NodeId; readonly to: NodeId; readonly nonce: string; readonly proof: string }
  | { readonly kind: 'message'; readonly msg: Message }
  | { readonly kind: 'forwardRequest'; readonly id: number; readonly req: ForwardRequest }
  /** `ok` false: `body` is an error text from the serving side, not a reply. */
  | { readonly kind: 'forwardResponse'; readonly id: number; readonly ok: boolean; readonly body: string };

export type FrameKind = Frame['kind'];

const frameKindCodes: Record<FrameKind, number> = { handshake: 1, message: 2, forwardRequest: 3, forwardResponse: 4 };

const messageTypeCodes: Record<MessageType, number> = {
  PreVote: 1,
  Vote: 2,
  PreVoteResp: 3,
  VoteResp: 4,
  Append: 5,
  AppendResp: 6,
  Heartbeat: 7,
  HeartbeatResp: 8,
  Snapshot: 9,
  SnapshotResp: 10,
  ReadIndex: 11,
  ReadIndexResp: 12,
  TimeoutNow: 13,
};
const messageTypesByCode: readonly (MessageType | undefined)[] = invert(messageTypeCodes);
const entryTypeCodes: Record<EntryType, number> = { normal: 0, confChange: 1 };
const entryTypesByCode: readonly (EntryType | undefined)[] = invert(entryTypeCodes);
const replyModes: ReadonlySet<number> = new Set([0, 2, 3]);

function invert<T extends string>(codes: Record<T, number>): (T | undefined)[] {
  const out: (T | undefined)[] = [];
  for (const name of Object.keys(codes) as T[]) out[codes[name]] = name;
  return out;
}

// ---------------------------------------------------------------------------
// Encoding

interface Sink {
  u8(v: number): void;
  u16(v: number): void;
  u32(v: number): void;
  u64(v: number): void;
  bool(v: boolean): void;
  /** UTF-8, u16 length: identities. */
  str16(s: string): void;
  /** UTF-8, u32 length: opaque texts (read contexts, error texts). */
  str32(s: string): void;
  /** Byte string held in a latin1 JS string, u32 length. */
  latin1(s: string): void;
  /** Raw bytes, u32 length. */
  bytes(b: Uint8Array): void;
  /** u64 index | u64 term | u8 type | u32 length | data: a method of its own because it is the hot loop. */
  entry(e: Entry): void;
}

const ENTRY_HEADER_BYTES = 8 + 8 + 1 + 4;

class Measure implements Sink {
  size = 0;
  u8(): void {
    this.size += 1;
  }
  u16(): void {
    this.size += 2;
  }
  u32(): void {
    this.size += 4;
  }
  u64(): void {
    this.size += 8;
  }
  bool(): void {
    this.size += 1;
  }
  str16(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    assert.ok(n <= STR16_MAX_BYTES, `identity too long for the wire (${n} bytes)`);
    this.size += 2 + n;
  }
  str32(s: string): void {
    this.size += 4 + Buffer.byteLength(s, 'utf8');
  }
  latin1(s: string): void {
    this.size += 4 + s.length;
  }
  bytes(b: Uint8Array): void {
    this.size += 4 + b.byteLength;
  }
  entry(e: Entry): void {
    this.size += ENTRY_HEADER_BYTES + e.data.byteLength;
  }
}

class Writer implements Sink {
  off: number;
  constructor(
    readonly buf: Buffer,
    start: number,
  ) {
    this.off = start;
  }
  u8(v: number): void {
    this.buf[this.off++] = v;
  }
  u16(v: number): void {
    this.off = this.buf.writeUInt16LE(v, this.off);
  }
  u32(v: number): void {
    this.off = this.buf.writeUInt32LE(v, this.off);
  }
  u64(v: number): void {
    writeU64(this.buf, v, this.off);
    this.off += 8;
  }
  bool(v: boolean): void {
    this.buf[this.off++] = v ? 1 : 0;
  }
  str16(s: string): void {
    const n = this.buf.write(s, this.off + 2, 'utf8');
    this.buf.writeUInt16LE(n, this.off);
    this.off += 2 + n;
  }
  str32(s: string): void {
    const n = this.buf.write(s, this.off + 4, 'utf8');
    this.buf.writeUInt32LE(n, this.off);
    this.off += 4 + n;
  }
  latin1(s: string): void {
    this.buf.writeUInt32LE(s.length, this.off);
    this.off += 4 + this.buf.write(s, this.off + 4, s.length, 'latin1');
  }
  bytes(b: Uint8Array): void {
    this.buf.writeUInt32LE(b.byteLength, this.off);
    this.buf.set(b, this.off + 4);
    this.off += 4 + b.byteLength;
  }
  entry(e: Entry): void {
    const buf = this.buf;
    let off = this.off;
    writeU64(buf, e.index, off);
    writeU64(buf, e.term, off + 8);
    buf[off + 16] = entryTypeCodes[e.type];
    off = buf.writeUInt32LE(e.data.byteLength, off + 17);
    buf.set(e.data, off);
    this.off = off + e.data.byteLength;
  }
}

function writeConfState(s: Sink, c: ConfState): void {
  s.u32(c.voters.length);
  for (const id of c.voters) s.str16(id);
  s.u32(c.learners.length);
  for (const id of c.learners) s.str16(id);
}

function writeSnapshotMeta(s: Sink, m: SnapshotMeta): void {
  s.u64(m.index);
  s.u64(m.term);
  writeConfState(s, m.confState);
}

function writeMessage(s: Sink, m: Message): void {
  s.u8(messageTypeCodes[m.type]);
  s.str16(m.from);
  s.str16(m.to);
  s.u64(m.term);
  switch (m.type) {
    case 'PreVote':
    case 'Vote':
      s.u64(m.lastLogIndex);
      s.u64(m.lastLogTerm);
      s.bool(m.transfer);
      return;
    case 'PreVoteResp':
    case 'VoteResp':
      s.bool(m.reject);
      return;
    case 'Append':
      s.u64(m.prevIndex);
      s.u64(m.prevTerm);
      s.u64(m.commit);
      s.u32(m.entries.length);
      for (const e of m.entries) s.entry(e);
      return;
    case 'AppendResp':
      s.bool(m.reject);
      s.u64(m.index);
      s.u64(m.hintIndex);
      s.u64(m.hintTerm);
      return;
    case 'Heartbeat':
      s.u64(m.commit);
      s.u64(m.readRound);
      return;
    case 'HeartbeatResp':
      s.u64(m.readRound);
      return;
    case 'Snapshot':
      writeSnapshotMeta(s, m.meta);
      s.u64(m.totalBytes);
      s.u64(m.offset);
      s.bool(m.done);
      s.bytes(m.data);
      return;
    case 'SnapshotResp':
      s.u64(m.snapshotIndex);
      s.u64(m.nextOffset);
      s.bool(m.reject);
      return;
    case 'ReadIndex':
      s.str32(m.ctx);
      return;
    case 'ReadIndexResp':
      s.str32(m.ctx);
      s.u64(m.index);
      s.bool(m.reject);
      return;
    case 'TimeoutNow':
      return;
  }
}

function writeFrameBody(s: Sink, f: Frame): void {
  s.u8(CODEC_VERSION);
  s.u8(frameKindCodes[f.kind]);
  switch (f.kind) {
    case 'handshake':
      s.str16(f.clusterId);
      s.str16(f.from);
      s.str16(f.to);
      s.str16(f.nonce);
      s.str16(f.proof);
      return;
    case 'message':
      writeMessage(s, f.msg);
      return;
    case 'forwardRequest':
      s.u32(f.id);
      s.u16(f.req.db);
      s.u8(f.req.mode);
      s.u8((f.req.readOnly ? FORWARD_READ_ONLY : 0) | (f.req.ackOnAppend ? FORWARD_ACK_ON_APPEND : 0));
      s.u32(f.req.argv.length);
      for (const a of f.req.argv) s.latin1(a);
      return;
    case 'forwardResponse':
      s.u32(f.id);
      s.bool(f.ok);
      s.latin1(f.body);
      return;
  }
}

/**
 * The complete frame (header included), ready for the socket. Throws (assertion)
 * only for values the format cannot hold, which are bugs in the caller: negative
 * or unsafe indexes, identities over 64 KiB.
 */
export function encodeFrame(f: Frame): Buffer {
  const m = new Measure();
  writeFrameBody(m, f);
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + m.size);
  const w = new Writer(buf, FRAME_HEADER_BYTES);
  writeFrameBody(w, f);
  assert.equal(w.off, buf.length, 'frame layout and size disagree');
  buf.writeUInt32LE(m.size, 0);
  buf.writeUInt32LE(crc32(buf.subarray(FRAME_HEADER_BYTES)), 4);
  return buf;
}

export function encodeMessage(msg: Message): Buffer {
  return encodeFrame({ kind: 'message', msg });
}

// ---------------------------------------------------------------------------
// Decoding

const utf8 = new TextDecoder('utf-8', { fatal: true });

class Reader {
  off = 0;
  constructor(
    private buf: Buffer,
    /** `buf` is part of a larger chunk we must not retain: copy it before handing out views of it. */
    private copyBytes: boolean,
  ) {}

  private need(n: number, what: string): void {
    if (n > this.buf.length - this.off) throw new CodecError(`truncated ${what} at byte ${this.off}`);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.off++]!;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.buf.readUInt16LE(this.off);
    this.off += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32LE(this.off);
    this.off += 4;
    return v;
  }
  u64(what: string): number {
    this.need(8, what);
    const v = readU64(this.buf, this.off);
    if (v < 0) throw new CodecError(`${what} exceeds 2^53 at byte ${this.off}`);
    this.off += 8;
    return v;
  }
  bool(what: string): boolean {
    const b = this.u8(what);
    if (b > 1) throw new CodecError(`${what}: ${b} is not a boolean`);
    return b === 1;
  }
  private utf8(len: number, what: string): string {
    this.need(len, what);
    let s: string;
    try {
      s = utf8.decode(this.buf.subarray(this.off, this.off + len));
    } catch {
      throw new CodecError(`${what} is not valid UTF-8`);
    }
    this.off += len;
    return s;
  }
  str16(what: string): string {
    return this.utf8(this.u16(what), what);
  }
  str32(what: string): string {
    return this.utf8(this.u32(what), what);
  }
  latin1(what: string): string {
    const len = this.u32(what);
    this.need(len, what);
    const s = this.buf.toString('latin1', this.off, this.off + len);
    this.off += len;
    return s;
  }
  bytes(what: string): Uint8Array {
    const len = this.u32(what);
    this.need(len, what);
    if (this.copyBytes) {
      // One copy of the whole payload, on the first byte field, serves every field
      // after it: a copy per entry would allocate a backing store per entry.
      // Its own backing store, not a pool slab: entries can live long in the Raft log.
      const copy = Buffer.allocUnsafeSlow(this.buf.length);
      this.buf.copy(copy);
      this.buf = copy;
      this.copyBytes = false;
    }
    const view = new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.off, len);
    this.off += len;
    // A plain Uint8Array: Raft's types promise no Buffer methods.
    return view;
  }
  /** A count of items each at least `minItemBytes` long: refused before anything is allocated for it. */
  count(what: string, minItemBytes: number): number {
    const n = this.u32(what);
    if (n * minItemBytes > this.buf.length - this.off) throw new CodecError(`${what} count ${n} exceeds the frame`);
    return n;
  }
  end(): void {
    if (this.off !== this.buf.length) throw new CodecError(`${this.buf.length - this.off} trailing bytes`);
  }
}


function readIds(r: Reader, what: string): NodeId[] {
  const n = r.count(what, 2);
  const ids: NodeId[] = new Array<NodeId>(n);
  for (let i = 0; i < n; i++) ids[i] = r.str16(what);
  return ids;
}

function readSnapshotMeta(r: Reader): SnapshotMeta {
  const index = r.u64('snapshot index');
  const term = r.u64('snapshot term');
  const voters = readIds(r, 'voters');
  const learners = readIds(r, 'learners');
  return { index, term, confState: { voters, learners } };
}

function readEntry(r: Reader): Entry {
  const index = r.u64('entry index');
  const term = r.u64('entry term');
  const code = r.u8('entry type');
  const type = entryTypesByCode[code];
  if (type === undefined) throw new CodecError(`unknown entry type ${code}`);
  return { index, term, type, data: r.bytes('entry data') };
}

function readEntries(r: Reader): Entry[] {
  const n = r.count('entries', ENTRY_HEADER_BYTES);
  const entries: Entry[] = new Array<Entry>(n);
  for (let i = 0; i < n; i++) entries[i] = readEntry(r);
  return entries;
}

function readMessage(r: Reader): Message {
  const code = r.u8('message type');
  const type = messageTypesByCode[code];
  if (type === undefined) throw new CodecError(`unknown message type ${code}`);
  const from = r.str16('from');
  const to = r.str16('to');
  const term = r.u64('term');
  switch (type) {
    case 'PreVote':
    case 'Vote': {
      const lastLogIndex = r.u64('lastLogIndex');
      const lastLogTerm = r.u64('lastLogTerm');
      return { type, from, to, term, lastLogIndex, lastLogTerm, transfer: r.bool('transfer') };
    }
    case 'PreVoteResp':
    case 'VoteResp':
      return { type, from, to, term, reject: r.bool('reject') };
    case 'Append': {
      const prevIndex = r.u64('prevIndex');
      const prevTerm = r.u64('prevTerm');
      const commit = r.u64('commit');
      return { type, from, to, term, prevIndex, prevTerm, entries: readEntries(r), commit };
    }
    case 'AppendResp': {
      const reject = r.bool('reject');
      const index = r.u64('index');
      const hintIndex = r.u64('hintIndex');
      return { type, from, to, term, reject, index, hintIndex, hintTerm: r.u64('hintTerm') };
    }
    case 'Heartbeat': {
      const commit = r.u64('commit');
      return { type, from, to, term, commit, readRound: r.u64('readRound') };
    }
    case 'HeartbeatResp':
      return { type, from, to, term, readRound: r.u64('readRound') };
    case 'Snapshot': {
      const meta = readSnapshotMeta(r);
      const totalBytes = r.u64('totalBytes');
      const offset = r.u64('offset');
      const done = r.bool('done');
      return { type, from, to, term, meta, totalBytes, offset, data: r.bytes('snapshot data'), done };
    }
    case 'SnapshotResp': {
      const snapshotIndex = r.u64('snapshotIndex');
      const nextOffset = r.u64('nextOffset');
      return { type, from, to, term, snapshotIndex, nextOffset, reject: r.bool('reject') };
    }
    case 'ReadIndex':
      return { type, from, to, term, ctx: r.str32('ctx') };
    case 'ReadIndexResp': {
      const ctx = r.str32('ctx');
      const index = r.u64('index');
      return { type, from, to, term, ctx, index, reject: r.bool('reject') };
    }
    case 'TimeoutNow':
      return { type, from, to, term };
  }
}

function readForwardRequest(r: Reader): Frame {
  const id = r.u32('request id');
  const db = r.u16('db');
  const mode = r.u8('reply mode');
  if (!replyModes.has(mode)) throw new CodecError(`unknown reply mode ${mode}`);
  const flags = r.u8('forward flags');
  // An unknown bit is a request this node would misread: refuse it rather than guess.
  if ((flags & ~(FORWARD_READ_ONLY | FORWARD_ACK_ON_APPEND)) !== 0) throw new CodecError(`unknown forward flags ${flags}`);
  const argc = r.count('argc', 4);
  const argv: string[] = new Array<string>(argc);
  for (let i = 0; i < argc; i++) argv[i] = r.latin1('argument');
  const readOnly = (flags & FORWARD_READ_ONLY) !== 0;
  const ackOnAppend = (flags & FORWARD_ACK_ON_APPEND) !== 0;
  return { kind: 'forwardRequest', id, req: { db, argv, mode: mode as ReplyMode, readOnly, ackOnAppend } };
}

function readFrameBody(r: Reader): Frame {
  const version = r.u8('version');
  if (version !== CODEC_VERSION) throw new CodecError(`unsupported peer protocol version ${version} (this node speaks ${CODEC_VERSION})`);
  const kind = r.u8('frame kind');
  switch (kind) {
    case frameKindCodes.handshake: {
      const clusterId = r.str16('cluster id');
      const from = r.str16('from');
      const to = r.str16('to');
      const nonce = r.str16('nonce');
      return { kind: 'handshake', clusterId, from, to, nonce, proof: r.str16('proof') };
    }
    case frameKindCodes.message:
      return { kind: 'message', msg: readMessage(r) };
    case frameKindCodes.forwardRequest:
      return readForwardRequest(r);
    case frameKindCodes.forwardResponse: {
      const id = r.u32('request id');
      const ok = r.bool('ok');
      return { kind: 'forwardResponse', id, ok, body: r.latin1('reply') };
    }
    default:
      throw new CodecError(`unknown frame kind ${kind}`);
  }
}

/**
 * Decodes one payload (the bytes after the frame header). With `copyBytes` false,
 * entry and snapshot data are views into `payload`, which the caller must own.
 */
export function decodePayload(payload: Buffer, copyBytes: boolean): Frame {
  const r = new Reader(payload, copyBytes);
  const f = readFrameBody(r);
  r.end();
  return f;
}

/** Decodes one complete frame, header included (tests and tools; the transport streams with FrameReader). */
export function decodeFrame(frame: Buffer, frameBytesMax = 0xffff_ffff): Frame {
  const reader = new FrameReader(frameBytesMax);
  reader.push(frame);
  const f = reader.next();
  if (f === null) throw new CodecError(`incomplete frame (${frame.length} bytes)`);
  if (reader.bufferedBytes !== 0) throw new CodecError(`${reader.bufferedBytes} bytes after the frame`);
  return f;
}

/**
 * Incremental frame parser for one connection: push socket chunks in, take frames
 * out. Lengths come from headers; a frame lying inside one chunk is viewed, one
 * spanning chunks is assembled once.
 */
export class FrameReader {
  private readonly chunks: Buffer[] = [];
  /** Read offset into chunks[0]. */
  private head = 0;
  private buffered = 0;
  /** Wire size (header included) of the frame `next` returned last, for statistics. */
  lastFrameBytes = 0;

  constructor(
    /** Largest payload accepted; raised after a handshake (tighter before it). */
    public frameBytesMax: number,
  ) {}

  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next complete frame, or null until more bytes arrive. Throws CodecError on a bad frame. */
  next(): Frame | null {
    if (this.buffered < FRAME_HEADER_BYTES) return null;
    const header = this.peek(FRAME_HEADER_BYTES);
    const length = header.readUInt32LE(0);
    if (length > this.frameBytesMax) throw new CodecError(`frame of ${length} bytes exceeds the limit of ${this.frameBytesMax}`);
    if (length < PAYLOAD_MIN_BYTES) throw new CodecError(`frame of ${length} bytes is too short`);
    if (this.buffered < FRAME_HEADER_BYTES + length) return null;
    const crc = header.readUInt32LE(4);
    this.skip(FRAME_HEADER_BYTES);
    const { bytes, owned } = this.take(length);
    this.lastFrameBytes = FRAME_HEADER_BYTES + length;
    if (crc32(bytes) !== crc) throw new CodecError('frame checksum mismatch');
    return decodePayload(bytes, !owned);
  }

  /** The first `n` buffered bytes without consuming them (n is small: a header). */
  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) return first.subarray(this.head, this.head + n);
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let off = this.head;
    for (let i = 0; filled < n; i++) {
      const c = this.chunks[i]!;
      filled += c.copy(out, filled, off, Math.min(c.length, off + n - filled));
      off = 0;
    }
    return out;
  }

  private skip(n: number): void {
    this.take(n);
  }

  /** Consumes `n` bytes: a view when they lie in one chunk, otherwise one assembled (owned) copy. */
  private take(n: number): { bytes: Buffer; owned: boolean } {
    assert.ok(n <= this.buffered, 'take beyond buffered bytes');
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) {
      const bytes = first.subarray(this.head, this.head + n);
      this.advance(first, n);
      return { bytes, owned: false };
    }
    const out = Buffer.allocUnsafeSlow(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const k = c.copy(out, filled, this.head, Math.min(c.length, this.head + n - filled));
      filled += k;
      this.advance(c, k);
    }
    return { bytes: out, owned: true };
  }

  private advance(chunk: Buffer, n: number): void {
    this.head += n;
    if (this.head === chunk.length) {
      this.chunks.shift();
      this.head = 0;
    }
  }
}
