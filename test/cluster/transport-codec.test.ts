import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  CodecError,
  FRAME_HEADER_BYTES,
  FrameReader,
  decodeFrame,
  decodePayload,
  encodeFrame,
  encodeMessage,
} from '../../src/cluster/transport/codec.js';
import type { Frame } from '../../src/cluster/transport/codec.js';
import { FrameQueue } from '../../src/cluster/transport/frame-queue.js';
import type { QueuedFrame } from '../../src/cluster/transport/frame-queue.js';
import { backoffDelayMs } from '../../src/cluster/transport/peer-transport.js';
import type { Entry, Message, MessageType } from '../../src/raft/types.js';

// ---------------------------------------------------------------------------
// Arbitraries: one per message type, covering every field at its full range.

/** fc.record may give null-prototype objects; the decoder gives plain ones, and deepStrictEqual compares prototypes. */
function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>;
}

const id = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 });
const u64 = fc.maxSafeNat();
const bytes = fc.uint8Array({ maxLength: 48 });
const latin1 = fc.string({ unit: fc.nat(255).map((c) => String.fromCharCode(c)), maxLength: 24 });
const base = { from: id, to: id, term: u64 };

const entry: fc.Arbitrary<Entry> = rec({
  index: u64,
  term: u64,
  type: fc.constantFrom('normal' as const, 'confChange' as const),
  data: bytes,
});
const ids = fc.array(id, { maxLength: 4 });
const meta = rec({ index: u64, term: u64, confState: rec({ voters: ids, learners: ids }) });

const messageArbs: Record<MessageType, fc.Arbitrary<Message>> = {
  PreVote: rec({ type: fc.constant('PreVote' as const), ...base, lastLogIndex: u64, lastLogTerm: u64, transfer: fc.boolean() }),
  Vote: rec({ type: fc.constant('Vote' as const), ...base, lastLogIndex: u64, lastLogTerm: u64, transfer: fc.boolean() }),
  PreVoteResp: rec({ type: fc.constant('PreVoteResp' as const), ...base, reject: fc.boolean() }),
  VoteResp: rec({ type: fc.constant('VoteResp' as const), ...base, reject: fc.boolean() }),
  Append: rec({
    type: fc.constant('Append' as const),
    ...base,
    prevIndex: u64,
    prevTerm: u64,
    entries: fc.array(entry, { maxLength: 6 }),
    commit: u64,
  }),
  AppendResp: rec({ type: fc.constant('AppendResp' as const), ...base, reject: fc.boolean(), index: u64, hintIndex: u64, hintTerm: u64 }),
  Heartbeat: rec({ type: fc.constant('Heartbeat' as const), ...base, commit: u64, readRound: u64 }),
  HeartbeatResp: rec({ type: fc.constant('HeartbeatResp' as const), ...base, readRound: u64 }),
  Snapshot: rec({
    type: fc.constant('Snapshot' as const),
    ...base,
    meta,
    totalBytes: u64,
    offset: u64,
    data: bytes,
    done: fc.boolean(),
  }),
  SnapshotResp: rec({ type: fc.constant('SnapshotResp' as const), ...base, snapshotIndex: u64, nextOffset: u64, reject: fc.boolean() }),
  ReadIndex: rec({ type: fc.constant('ReadIndex' as const), ...base, ctx: fc.string({ unit: 'grapheme', maxLength: 12 }) }),
  ReadIndexResp: rec({
    type: fc.constant('ReadIndexResp' as const),
    ...base,
    ctx: fc.string({ unit: 'grapheme', maxLength: 12 }),
    index: u64,
    reject: fc.boolean(),
  }),
  TimeoutNow: rec({ type: fc.constant('TimeoutNow' as const), ...base }),
};

const message = fc.oneof(...Object.values(messageArbs));

const frame: fc.Arbitrary<Frame> = fc.oneof(
  message.map((msg): Frame => ({ kind: 'message', msg })),
  rec({ kind: fc.constant('handshake' as const), clusterId: id, from: id, to: id, nonce: id, proof: id }),
  rec({
    kind: fc.constant('forwardRequest' as const),
    id: fc.nat({ max: 0xffff_ffff }),
    req: rec({
      db: fc.nat({ max: 0xffff }),
      argv: fc.array(latin1, { maxLength: 6 }),
      mode: fc.constantFrom(0 as const, 2 as const, 3 as const),
      readOnly: fc.boolean(),
      ackOnAppend: fc.boolean(),
    }),
  }),
  rec({ kind: fc.constant('forwardResponse' as const), id: fc.nat({ max: 0xffff_ffff }), ok: fc.boolean(), body: latin1 }),
);

/** Feeds `buf` to a reader in the given chunk sizes and collects every frame. */
function readAll(buf: Buffer, sizes: readonly number[]): Frame[] {
  const reader = new FrameReader(1 << 20);
  const out: Frame[] = [];
  let off = 0;
  let i = 0;
  while (off < buf.length) {
    const n = Math.max(1, sizes.length === 0 ? buf.length : sizes[i++ % sizes.length]!);
    reader.push(buf.subarray(off, off + n));
    off += n;
    for (let f = reader.next(); f !== null; f = reader.next()) out.push(f);
  }
  assert.equal(reader.bufferedBytes, 0);
  return out;
}

describe('transport codec: round trips', () => {
  for (const [type, arb] of Object.entries(messageArbs)) {
    test(`${type} messages round-trip exactly`, () => {
      fc.assert(
        fc.property(arb, (msg) => {
          assert.deepStrictEqual(decodeFrame(encodeMessage(msg)), { kind: 'message', msg });
        }),
        { numRuns: 200 },
      );
    });
  }

  test('every frame kind round-trips', () => {
    fc.assert(
      fc.property(frame, (f) => {
        assert.deepStrictEqual(decodeFrame(encodeFrame(f)), f);
      }),
      { numRuns: 500 },
    );
  });

  test('a stream of frames decodes the same whole, byte by byte, and in random chunks', () => {
    fc.assert(
      fc.property(fc.array(frame, { minLength: 1, maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 8 }), (frames, sizes) => {
        const stream = Buffer.concat(frames.map(encodeFrame));
        assert.deepStrictEqual(readAll(stream, []), frames);
        assert.deepStrictEqual(readAll(stream, [1]), frames);
        assert.deepStrictEqual(readAll(stream, sizes), frames);
      }),
      { numRuns: 200 },
    );
  });

  test('decoded payloads never alias a socket chunk shared with other frames', () => {
    const msg: Message = { type: 'Append', from: 'a', to: 'b', term: 1, prevIndex: 0, prevTerm: 0, commit: 0, entries: [{ index: 1, term: 1, type: 'normal', data: new Uint8Array([1, 2, 3]) }] };
    const chunk = Buffer.concat([encodeMessage(msg), encodeMessage(msg)]);
    const reader = new FrameReader(1 << 20);
    reader.push(chunk);
    const f = reader.next();
    assert.ok(f !== null && f.kind === 'message' && f.msg.type === 'Append');
    chunk.fill(0);
    assert.deepStrictEqual([...f.msg.entries[0]!.data], [1, 2, 3]);
    assert.equal(Object.getPrototypeOf(f.msg.entries[0]!.data), Uint8Array.prototype, 'plain Uint8Array, not Buffer');
  });

  test('the layout is little-endian with a version byte, as documented', () => {
    const buf = encodeMessage({ type: 'TimeoutNow', from: 'a', to: 'b', term: 258 });
    assert.equal(buf.readUInt32LE(0), buf.length - FRAME_HEADER_BYTES);
    assert.deepStrictEqual([...buf.subarray(8)], [2, 2, 13, 1, 0, 0x61, 1, 0, 0x62, 2, 1, 0, 0, 0, 0, 0, 0]);
  });
});

describe('transport codec: garbage', () => {
  test('random payloads either decode or throw CodecError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), fc.boolean(), (raw, copy) => {
        const payload = Buffer.from(raw);
        if (payload.length > 0) payload[0] = 1; // get past the version check most of the time
        try {
          decodePayload(payload, copy);
        } catch (err) {
          assert.ok(err instanceof CodecError, `unexpected ${String(err)}`);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('every truncation of a valid payload is refused', () => {
    fc.assert(
      fc.property(frame, (f) => {
        const payload = encodeFrame(f).subarray(FRAME_HEADER_BYTES);
        for (let n = 0; n < payload.length; n++) {
          assert.throws(() => decodePayload(Buffer.from(payload.subarray(0, n)), true), CodecError);
        }
      }),
      { numRuns: 100 },
    );
  });

  test('a corrupted byte is caught by the checksum', () => {
    fc.assert(
      fc.property(frame, fc.nat(), fc.integer({ min: 1, max: 255 }), (f, at, xor) => {
        const buf = Buffer.from(encodeFrame(f));
        const i = FRAME_HEADER_BYTES + (at % (buf.length - FRAME_HEADER_BYTES));
        buf[i]! ^= xor;
        assert.throws(() => decodeFrame(buf), CodecError);
      }),
      { numRuns: 300 },
    );
  });

  test('an oversized length is refused from the header alone', () => {
    const reader = new FrameReader(4096);
    const header = Buffer.alloc(8);
    header.writeUInt32LE(4097, 0);
    reader.push(header);
    assert.throws(() => reader.next(), /exceeds the limit/);
  });

  test('specific malformations name the problem', () => {
    const ok = encodeMessage({ type: 'VoteResp', from: 'a', to: 'b', term: 1, reject: false });
    const payload = Buffer.from(ok.subarray(FRAME_HEADER_BYTES));
    const variant = (at: number, value: number) => {
      const p = Buffer.from(payload);
      p[at] = value;
      return p;
    };
    assert.throws(() => decodePayload(variant(0, 9), true), /unsupported peer protocol version 9/);
    assert.throws(() => decodePayload(variant(1, 77), true), /unknown frame kind 77/);
    assert.throws(() => decodePayload(variant(2, 99), true), /unknown message type 99/);
    assert.throws(() => decodePayload(variant(payload.length - 1, 2), true), /not a boolean/);
    assert.throws(() => decodePayload(Buffer.concat([payload, Buffer.from([0])]), true), /trailing/);
    const hugeTerm = Buffer.from(payload);
    hugeTerm.writeUInt32LE(0xffff_ffff, 13); // high word of the term
    assert.throws(() => decodePayload(hugeTerm, true), /exceeds 2\^53/);
    const badUtf8 = Buffer.from(payload);
    badUtf8[5] = 0xff; // the byte of "a"
    assert.throws(() => decodePayload(badUtf8, true), /UTF-8/);

    // A forward request's flags: version, kind, u32 id, u16 db, u8 mode, then the flags byte.
    const fwd = Buffer.from(
      encodeFrame({ kind: 'forwardRequest', id: 1, req: { db: 0, argv: ['set', 'k', 'v'], mode: 2, readOnly: false, ackOnAppend: true } }).subarray(FRAME_HEADER_BYTES),
    );
    const back = decodePayload(fwd, true);
    assert.ok(back.kind === 'forwardRequest' && back.req.ackOnAppend && !back.req.readOnly);
    fwd[9] = 4;
    assert.throws(() => decodePayload(fwd, true), /unknown forward flags 4/);
  });

  test('a count larger than the frame is refused before allocating', () => {
    const msg: Message = { type: 'Append', from: 'a', to: 'b', term: 1, prevIndex: 0, prevTerm: 0, commit: 0, entries: [] };
    const payload = Buffer.from(encodeMessage(msg).subarray(FRAME_HEADER_BYTES));
    payload.writeUInt32LE(0xffff_ffff, payload.length - 4);
    assert.throws(() => decodePayload(payload, true), /entries count 4294967295 exceeds the frame/);
  });
});

describe('frame queue', () => {
  const frameOf = (kind: QueuedFrame['kind'], n: number, requestId = 0): QueuedFrame => ({ bytes: Buffer.alloc(n, kind.length), kind, requestId });

  test('drops the oldest non-snapshot frames first and keeps order', () => {
    const q = new FrameQueue();
    q.push(frameOf('snapshot', 100));
    q.push(frameOf('raft', 10));
    q.push(frameOf('forward', 10, 7));
    q.push(frameOf('raft', 10));
    const dropped: QueuedFrame[] = [];
    q.trimTo(120, (f) => dropped.push(f));
    assert.deepStrictEqual(dropped.map((f) => f.kind), ['raft']);
    assert.equal(q.bytes, 120);
    q.push(frameOf('raft', 10));
    q.trimTo(110, (f) => dropped.push(f));
    assert.deepStrictEqual(dropped.map((f) => [f.kind, f.requestId]), [['raft', 0], ['forward', 7], ['raft', 0]]);
    assert.deepStrictEqual([q.shift()?.kind, q.shift()?.kind], ['snapshot', 'raft']);
    assert.equal(q.length, 0);
  });

  test('drops snapshots when nothing else is left', () => {
    const q = new FrameQueue();
    for (let i = 0; i < 4; i++) q.push(frameOf('snapshot', 100));
    let drops = 0;
    q.trimTo(250, () => drops++);
    assert.equal(drops, 2);
    assert.equal(q.bytes, 200);
  });

  test('a queue that never drains stays compact under steady overflow', () => {
    const q = new FrameQueue();
    q.push(frameOf('snapshot', 1000));
    for (let i = 0; i < 100_000; i++) {
      q.push(frameOf('raft', 10));
      q.trimTo(1100, () => {});
    }
    assert.equal(q.length, 11);
    assert.equal(q.bytes, 1100);
    assert.ok((q as unknown as { slots: unknown[] }).slots.length < 4096, 'dead slots were compacted');
  });

  test('random operations keep byte and frame accounting exact', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(rec({ op: fc.constant('push' as const), kind: fc.constantFrom('raft' as const, 'snapshot' as const, 'forward' as const), n: fc.integer({ min: 1, max: 50 }) }), rec({ op: fc.constant('shift' as const) }), rec({ op: fc.constant('trim' as const), max: fc.nat(300) }), rec({ op: fc.constant('noForwards' as const) }))),
        (ops) => {
          const q = new FrameQueue();
          const model: QueuedFrame[] = [];
          for (const o of ops) {
            if (o.op === 'push') {
              const f = frameOf(o.kind, o.n);
              q.push(f);
              model.push(f);
            } else if (o.op === 'shift') {
              assert.equal(q.shift(), model.shift());
            } else if (o.op === 'trim') {
              q.trimTo(o.max, (f) => model.splice(model.indexOf(f), 1));
              assert.ok(q.bytes <= o.max);
            } else {
              q.removeWhere((f) => f.kind === 'forward', (f) => model.splice(model.indexOf(f), 1));
            }
            assert.equal(q.length, model.length);
            assert.equal(q.bytes, model.reduce((s, f) => s + f.bytes.length, 0));
          }
          assert.deepStrictEqual(q.clear(), model);
        },
      ),
    );
  });
});

describe('reconnect backoff', () => {
  test('stays within [min, max] for every attempt and jitter', () => {
    fc.assert(
      fc.property(fc.nat(200), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
        const d = backoffDelayMs(attempt, 50, 2000, () => r);
        assert.ok(d >= 50 && d <= 2000, `attempt ${attempt}: ${d}`);
      }),
    );
  });

  test('doubles up to the cap', () => {
    const top = [0, 1, 2, 3, 4, 5, 6, 7].map((a) => backoffDelayMs(a, 50, 2000, () => 1));
    assert.deepStrictEqual(top, [50, 100, 200, 400, 800, 1600, 2000, 2000]);
    const bottom = [0, 1, 2, 3, 4, 5, 6, 7].map((a) => backoffDelayMs(a, 50, 2000, () => 0));
    assert.deepStrictEqual(bottom, [50, 50, 100, 200, 400, 800, 1000, 1000]);
  });
});
