// Per-connection state that commands may read or change (Redis's `client` struct, minus I/O).
// The connection that owns it handles the socket; commands see only this.

import type { ReplyMode } from '../protocol/reply.js';

export class ClientState {
  readonly id: number;
  /** `ip:port` of the peer and of our end, as CLIENT LIST shows them. */
  readonly addr: string;
  readonly laddr: string;
  readonly createdAtMs: number;
  name = '';
  /** Selected database. */
  db = 0;
  /** RESP protocol version negotiated with HELLO (2 or 3). */
  resp: 2 | 3 = 2;
  /** Reply dialect for the command being run (plain text for inline lines, see DESIGN.md). */
  mode: ReplyMode = 2;
  authenticated: boolean;
  lastInteractionMs: number;
  /** Lower-case name of the last command run, for CLIENT LIST `cmd=`. */
  lastCommand = 'NULL';
  /** Set by QUIT / CLIENT KILL / SHUTDOWN: the connection closes after flushing replies. */
  closeAfterReply = false;
  /** CLIENT SETINFO values. */
  libName = '';
  libVersion = '';
  /** Bytes buffered in the decoder and waiting in the socket; refreshed by the connection. */
  queryBufferBytes = 0;
  outputBufferBytes = 0;

  constructor(id: number, addr: string, laddr: string, nowMs: number, authenticated: boolean) {
    this.id = id;
    this.addr = addr;
    this.laddr = laddr;
    this.createdAtMs = nowMs;
    this.lastInteractionMs = nowMs;
    this.authenticated = authenticated;
  }
}
