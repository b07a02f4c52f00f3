// Bytes to latin1 strings (one char per byte), the representation of every key
// and value in KeyMesh.
//
// Most arguments on the hot path are short (command names, keys, small values).
// For those, Buffer#toString's native call costs more than the copy itself:
// measured on Node 20, String.fromCharCode with the bytes as arguments is 2-4x
// faster up to a dozen bytes, and V8 still builds a flat one-byte string.

const fromCharCode = String.fromCharCode;

/** `buf[start, end)` as a latin1 string. */
export function latin1(buf: Buffer, start: number, end: number): string {
  const s = start;
  switch (end - start) {
    case 0:
      return '';
    case 1:
      return fromCharCode(buf[s]!);
    case 2:
      return fromCharCode(buf[s]!, buf[s + 1]!);
    case 3:
      return fromCharCode(buf[s]!, buf[s + 1]!, buf[s + 2]!);
    case 4:
      return fromCharCode(buf[s]!, buf[s + 1]!, buf[s + 2]!, buf[s + 3]!);
    case 5:
      return fromCharCode(buf[s]!, buf[s + 1]!, buf[s + 2]!, buf[s + 3]!, buf[s + 4]!);
    case 6:
      return fromCharCode(buf[s]!, buf[s + 1]!, buf[s + 2]!, buf[s + 3]!, buf[s + 4]!, buf[s + 5]!);
    case 7:
      return fromCharCode(buf[s]!, buf[s + 1]!, buf[s + 2]!, buf[s + 3]!, buf[s + 4]!, buf[s + 5]!, buf[s + 6]!);
    case 8:
      return fromCharCode(buf[s]!, buf[s + 1]!, buf[s + 2]!, buf[s + 3]!, buf[s + 4]!, buf[s + 5]!, buf[s + 6]!, buf[s + 7]!);
    case 9:
      return fromCharCode(
        buf[s]!, buf[s + 1]!, buf[s + 2]!, buf[s + 3]!, buf[s + 4]!, buf[s + 5]!, buf[s + 6]!, buf[s + 7]!,
        buf[s + 8]!,
      );
    case 10:
      return fromCharCode(
        buf[s]!, buf[s + 1]!, buf[s + 2]!, buf[s + 3]!, buf[s + 4]!, buf[s + 5]!, buf[s + 6]!, buf[s + 7]!,
        buf[s + 8]!, buf[s + 9]!,
      );
    case 11:
      return fromCharCode(
        buf[s]!, buf[s + 1]!, buf[s + 2]!, buf[s + 3]!, buf[s + 4]!, buf[s + 5]!, buf[s + 6]!, buf[s + 7]!,
        buf[s + 8]!, buf[s + 9]!, buf[s + 10]!,
      );
    case 12:
      return fromCharCode(
        buf[s]!, buf[s + 1]!, buf[s + 2]!, buf[s + 3]!, buf[s + 4]!, buf[s + 5]!, buf[s + 6]!, buf[s + 7]!,
        buf[s + 8]!, buf[s + 9]!, buf[s + 10]!, buf[s + 11]!,
      );
    default:
      return buf.toString('latin1', start, end);
  }
}
