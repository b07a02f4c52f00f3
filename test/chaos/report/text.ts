// Turning history text (keys and values are arbitrary bytes read as latin1) into
// something safe to put in HTML and readable by a person.

/** Longest key or value shown in a hover title, in characters of the original string. */
export const TITLE_TEXT_MAX = 60;
/** Longest key or value shown in a table cell. */
export const TABLE_TEXT_MAX = 4000;

const HTML_SPECIAL = /[&<>"']/g;
const HTML_ENTITY: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Safe in element content and in double- or single-quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(HTML_SPECIAL, (c) => HTML_ENTITY[c] as string);
}

// Controls, format characters (soft hyphen, bidi overrides), separators and lone
// surrogates would be invisible, reorder the text around them, or be invalid in
// the document; a backslash is escaped too so every escape reads unambiguously.
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\\]/gu;

/** Shows unprintable characters as \xNN or \u{NNNN}. */
export function printable(s: string): string {
  return s.replace(UNPRINTABLE, (c) => {
    if (c === '\\') return '\\\\';
    const code = c.codePointAt(0) as number;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** At most `max` characters of `s`, saying how many were left out. */
export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}…(+${s.length - max} chars)`;
}

/** History text for a person: clipped, unprintables shown; still to be escaped. */
export function shown(s: string, max: number): string {
  return printable(clip(s, max));
}

/** History text as HTML: clipped, unprintables shown, escaped. */
export function historyText(s: string, max: number = TABLE_TEXT_MAX): string {
  return escapeHtml(shown(s, max));
}

/** Milliseconds as seconds with millisecond precision, e.g. "12.345". */
export function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/** A latency, e.g. "0.42 ms", "12.3 ms", "1530 ms". */
export function latency(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  return `${Math.round(ms)} ms`;
}

/** An SVG coordinate: one decimal is finer than a screen pixel and keeps the file small. */
export function coord(v: number): string {
  return String(Math.round(v * 10) / 10);
}
