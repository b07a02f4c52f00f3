// The records of a chaos run, one JSON object per line in history.jsonl. Every
// part of the suite (runner, checkers, report) speaks these types and nothing else.
//
// Times are milliseconds since the run started, from the runner's monotonic clock
// (performance.now), so they order events across all clients and the nemesis.

export type Level = 'strong' | 'quorum' | 'eventual';
export type Workload = 'register' | 'counter' | 'append' | 'ttl';

/**
 * ok: the store answered and the operation took effect (reads: the value seen).
 * fail: the store answered with an error that means it did NOT take effect
 *   (e.g. -CLUSTERDOWN before proposing, a syntax error); certain.
 * info: indeterminate. A timeout, a dropped connection, or an error that leaves
 *   open whether a write was applied. A write with type info may or may not have
 *   happened, at any time after invokeMs (possibly after completeMs).
 */
export type OpType = 'ok' | 'fail' | 'info';

interface OpBase {
  readonly type: 'op';
  /** Operation number, 0-based, in completion order (what anomalies and the report refer to). */
  readonly index: number;
  /**
   * Logical client, Jepsen's "process": a client that saw an indeterminate result
   * opens a new connection under a new process number, so one process never has
   * two operations in flight and real-time order per process is program order.
   */
  readonly process: number;
  /** Worker slot 0..clients-1 that ran it (a timeline row); processes come and go within a slot. */
  readonly client: number;
  /** True for the reads made after healing, to learn the final state (always strong). */
  readonly final?: boolean;
  /** Node id the operation was sent to. */
  readonly node: string;
  /** The consistency level the connection ran at (CONSISTENCY <level>). */
  readonly level: Level;
  readonly key: string;
  readonly invokeMs: number;
  readonly completeMs: number;
  readonly outcome: OpType;
  /** Error reply or local failure text for fail/info. */
  readonly error?: string;
}

/** register: SET key value (values are unique across the run). */
export interface RegisterWrite extends OpBase {
  readonly workload: 'register';
  readonly f: 'write';
  readonly value: string;
}
/** register: GET key; value is null when the key did not exist. Only ok reads matter. */
export interface RegisterRead extends OpBase {
  readonly workload: 'register';
  readonly f: 'read';
  readonly value: string | null;
}
/** counter: INCR key; result is the value INCR returned (ok only). */
export interface CounterIncr extends OpBase {
  readonly workload: 'counter';
  readonly f: 'incr';
  readonly result: number | null;
}
/** counter: GET key as an integer (null when the key did not exist). */
export interface CounterRead extends OpBase {
  readonly workload: 'counter';
  readonly f: 'read';
  readonly value: number | null;
}
/** append: APPEND key "<token> " with a token unique across the run. */
export interface AppendOp extends OpBase {
  readonly workload: 'append';
  readonly f: 'append';
  readonly token: string;
}
/** append: GET key split on spaces into the tokens seen, in order (empty when missing). */
export interface AppendRead extends OpBase {
  readonly workload: 'append';
  readonly f: 'read';
  readonly tokens: readonly string[];
}

/** ttl: SET key value PX ttlMs (values unique across the run, like the register's). */
export interface TtlWrite extends OpBase {
  readonly workload: 'ttl';
  readonly f: 'write';
  readonly value: string;
  readonly ttlMs: number;
}
/** ttl: GET key; value is null when the key did not exist (or had expired). */
export interface TtlRead extends OpBase {
  readonly workload: 'ttl';
  readonly f: 'read';
  readonly value: string | null;
}
/** ttl: PTTL key — ms left, -1 for a key without expiry, -2 for a missing key; null unless ok. */
export interface TtlPttl extends OpBase {
  readonly workload: 'ttl';
  readonly f: 'pttl';
  readonly pttlMs: number | null;
}

export type Op = RegisterWrite | RegisterRead | CounterIncr | CounterRead | AppendOp | AppendRead | TtlWrite | TtlRead | TtlPttl;

/** A fault the nemesis began or ended. */
export interface NemesisEvent {
  readonly type: 'nemesis';
  readonly timeMs: number;
  readonly phase: 'start' | 'stop';
  readonly fault: 'kill' | 'pause' | 'partition' | 'clock';
  /** Nodes it acts on (for a partition: every node, with the groups in detail). */
  readonly nodes: readonly string[];
  /** Human-readable, e.g. "isolate leader n3: [n3] | [n1 n2 n4 n5]" or "+45000 ms on n2". */
  readonly detail: string;
}

/** The monitor's view of leadership, sampled a few times a second from every node. */
export interface LeaderSample {
  readonly type: 'leader';
  readonly timeMs: number;
  /** Node that reported it. */
  readonly node: string;
  /** Leader it believes in, or null. */
  readonly leader: string | null;
  readonly term: number;
}

/** First line of the file: how the run was set up. */
export interface RunMeta {
  readonly type: 'meta';
  readonly seed: number;
  readonly nodes: readonly string[];
  readonly timeS: number;
  readonly nemeses: readonly string[];
  readonly workloads: readonly Workload[];
  readonly levels: readonly Level[];
  readonly clients: number;
  /** 'netns' or 'proxy', and why. */
  readonly network: string;
  readonly startedAt: string;
  /** The command that replays this run's schedule (`npm run chaos -- …`), every option given. */
  readonly replay?: string;
  /** Time (ms since start) when the nemesis stopped and the final reads began. */
  readonly healedMs?: number;
}

export type HistoryRecord = RunMeta | Op | NemesisEvent | LeaderSample;

/** What one checker concluded. */
export interface Anomaly {
  /** Short machine-readable kind, e.g. 'nonlinearizable', 'lost', 'duplicate', 'stale-read'. */
  readonly kind: string;
  readonly key?: string;
  /** Enough for a person to find it in the history: indexes of the operations involved. */
  readonly ops?: readonly number[];
  readonly message: string;
}

export interface CheckResult {
  readonly workload: Workload;
  readonly level: Level;
  readonly valid: boolean;
  readonly anomalies: readonly Anomaly[];
  /** Counts worth printing: ok/fail/info operations, reads checked, tokens, etc. */
  readonly counts: Readonly<Record<string, number>>;
  /** Lost acknowledged writes a level is allowed to lose (eventual), reported but not invalid. */
  readonly allowedLosses?: readonly Anomaly[];
}
