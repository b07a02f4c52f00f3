// Reply formatting exactly as redis-cli prints it, so scripts and eyes used to
// redis-cli read `keymesh cli` the same way.
//
// Output is a latin1 string (one char per byte): values are byte strings and are
// written to stdout byte for byte.

import type { RespValue } from '../protocol/reply-decoder.js';

/** Bytes of a string-like value as a latin1 string. */
function bytes(v: Buffer | string): string {
  return typeof v === 'string' ? v : v.toString('latin1');
}

/** A byte string quoted and escaped as redis-cli's sdscatrepr does: `"a\n\x00"`. */
export function quoteBytes(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    switch (c) {
      case 0x5c:
        out += '\\\\';
        break;
      case 0x22:
        out += '\\"';
        break;
      case 0x0a:
        out += '\\n';
        break;
      case 0x0d:
        out += '\\r';
        break;
      case 0x09:
        out += '\\t';
        break;
      case 0x07:
        out += '\\a';
        break;
      case 0x08:
        out += '\\b';
        break;
      default:
        out += c >= 0x20 && c <= 0x7e ? s[i] : '\\x' + c.toString(16).padStart(2, '0');
    }
  }
  return out + '"';
}

const emptyAggregate: Record<string, string> = {
  array: '(empty array)\n',
  set: '(empty set)\n',
  push: '(empty push)\n',
  map: '(empty hash)\n',
};

/** The index separator redis-cli prints after an element number. */
const indexSeparator: Record<string, string> = { array: ')', push: ')', set: '~', map: '#' };

/** Human form, as redis-cli prints to a terminal. Ends with a newline. */
export function formatHuman(v: RespValue, prefix = ''): string {
  switch (v.type) {
    case 'error':
      return `(error) ${v.message}\n`;
    case 'string':
      return (typeof v.value === 'string' ? v.value : quoteBytes(bytes(v.value))) + '\n';
    case 'int':
      return `(integer) ${v.value}\n`;
    case 'double':
      return `(double) ${v.text}\n`;
    case 'bool':
      return v.value ? '(true)\n' : '(false)\n';
    case 'null':
      return '(nil)\n';
    case 'bignum':
      return `(big number) ${v.value}\n`;
    case 'verbatim':
      return bytes(v.value) + '\n';
    case 'attribute':
      return formatHuman(v.value, prefix);
    case 'map':
      return formatAggregate('map', v.entries, prefix);
    default:
      return formatAggregate(v.type, v.items, prefix);
  }
}

/**
 * Numbered elements, right-aligned indices, nested replies indented under their
 * index: the first line of an element follows its number, the rest line up below.
 */
function formatAggregate(kind: string, elements: readonly (RespValue | [RespValue, RespValue])[], prefix: string): string {
  if (elements.length === 0) return emptyAggregate[kind]!;
  const width = String(elements.length).length;
  const inner = prefix + ' '.repeat(width + 2);
  const sep = indexSeparator[kind]!;
  let out = '';
  for (let i = 0; i < elements.length; i++) {
    const e = elements[i]!;
    out += (i === 0 ? '' : prefix) + String(i + 1).padStart(width) + sep + ' ';
    if (Array.isArray(e)) {
      out += chomp(formatHuman(e[0], inner)) + ' => ' + chomp(formatHuman(e[1], inner));
    } else out += chomp(formatHuman(e, inner));
    out += '\n';
  }
  return out;
}

function chomp(s: string): string {
  return s.endsWith('\n') ? s.slice(0, -1) : s;
}

/** Raw form (`--raw`, or stdout not a terminal): values as bytes, one per line, nil as nothing. */
export function formatRaw(v: RespValue): string {
  switch (v.type) {
    case 'null':
      return '';
    // redis-cli ends a raw error with its own newline, before the command delimiter.
    case 'error':
      return v.message + '\n';
    case 'string':
    case 'verbatim':
      return bytes(v.value);
    case 'bool':
      return v.value ? '(true)' : '(false)';
    case 'int':
    case 'bignum':
      return String(v.value);
    case 'double':
      return v.text;
    case 'attribute':
      return formatRaw(v.value);
    case 'map':
      return v.entries.map(([k, val]) => formatRaw(k) + ' ' + formatRaw(val)).join('\n');
    default:
      return v.items.map(formatRaw).join('\n');
  }
}

/**
 * Commands whose text replies redis-cli prints verbatim even on a terminal, so
 * INFO reads as a page rather than one long quoted string.
 */
export function printsVerbatim(argv: readonly string[]): boolean {
  const cmd = argv[0]?.toLowerCase();
  const sub = argv[1]?.toLowerCase();
  switch (cmd) {
    case 'info':
    case 'lolwut':
      return true;
    case 'cluster':
      return argv.length === 2 && (sub === 'nodes' || sub === 'info');
    case 'client':
      return sub === 'list' || sub === 'info';
    case 'memory':
      return sub === 'doctor' || sub === 'malloc-stats';
    case 'latency':
      return sub === 'doctor' || sub === 'graph';
    default:
      return false;
  }
}

/** The whole text to print for one reply. */
export function formatReply(v: RespValue, raw: boolean, verbatim = false): string {
  if (verbatim) return formatRaw(v);
  return raw ? formatRaw(v) + '\n' : formatHuman(v);
}
