// Redis's exact error texts, reused everywhere so clients that match on them keep working.

export const Err = {
  syntax: 'ERR syntax error',
  notInteger: 'ERR value is not an integer or out of range',
  notFloat: 'ERR value is not a valid float',
  overflow: 'ERR increment or decrement would overflow',
  decrementOverflow: 'ERR decrement would overflow',
  nanOrInf: 'ERR increment would produce NaN or Infinity',
  wrongType: 'WRONGTYPE Operation against a key holding the wrong kind of value',
  noSuchKey: 'ERR no such key',
  dbIndexOutOfRange: 'ERR DB index is out of range',
  invalidCursor: 'ERR invalid cursor',
  offsetOutOfRange: 'ERR offset is out of range',
  stringTooLong: 'ERR string exceeds maximum allowed size (proto-max-bulk-len)',
  noAuth: 'NOAUTH Authentication required.',
  wrongPass: 'WRONGPASS invalid username-password pair or user is disabled.',
  authNotConfigured:
    'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
  timeoutNegative: 'ERR timeout is negative',
  timeoutNotFloat: 'ERR timeout is not a float or out of range',
  timeoutNotInteger: 'ERR timeout is not an integer or out of range',
  clusterDisabled: 'ERR This instance has cluster support disabled',
  noSuchClient: 'ERR No such client',
  clientNameInvalid: 'ERR Client names cannot contain spaces, newlines or special characters.',
  noProto: 'NOPROTO unsupported protocol version',
  expireNxConflict: 'ERR NX and XX, GT or LT options at the same time are not compatible',
  expireGtLtConflict: 'ERR GT and LT options at the same time are not compatible',
  invalidFirstDbIndex: 'ERR invalid first DB index',
  invalidSecondDbIndex: 'ERR invalid second DB index',
} as const;

/** `ERR wrong number of arguments for 'get' command` (name as in the command table, lower case). */
export function errArity(fullName: string): string {
  return `ERR wrong number of arguments for '${fullName}' command`;
}

/**
 * At most `max` bytes of `s` as Redis's `%.*s` prints it: a C string, so it ends at the
 * first NUL byte (a binary argument shows only up to there).
 */
function cString(s: string, max: number): string {
  const nul = s.indexOf('\0');
  return (nul === -1 ? s : s.slice(0, nul)).slice(0, max);
}

/** Redis 7's unknown-command text, quoting up to the first 128 bytes of the name and of the arguments. */
export function errUnknownCommand(argv: readonly string[]): string {
  let args = '';
  for (let i = 1; i < argv.length && args.length < 128; i++) args += `'${cString(argv[i]!, 128 - args.length)}' `;
  return `ERR unknown command '${cString(argv[0]!, 128)}', with args beginning with: ${args}`;
}

/** `ERR unknown subcommand 'foo'. Try CONFIG HELP.` */
export function errUnknownSubcommand(container: string, sub: string): string {
  return `ERR unknown subcommand '${cString(sub, 128)}'. Try ${container.toUpperCase()} HELP.`;
}

/** For commands that parse their own subcommands (DEBUG): `ERR unknown subcommand or wrong number of arguments for 'foo'. Try DEBUG HELP.` */
export function errSubcommandSyntax(container: string, sub: string): string {
  return `ERR unknown subcommand or wrong number of arguments for '${cString(sub, 128)}'. Try ${container.toUpperCase()} HELP.`;
}

/** `ERR invalid expire time in 'set' command` */
export function errInvalidExpire(cmd: string): string {
  return `ERR invalid expire time in '${cmd}' command`;
}

/** `ERR Unsupported option foo` (EXPIRE's NX/XX/GT/LT parser). */
export function errUnsupportedOption(opt: string): string {
  return `ERR Unsupported option ${opt}`;
}

/** `ERR value is out of range, value must between -2147483648 and 2147483647` (Redis's wording). */
export function errOutOfRange(min: number | bigint, max: number | bigint): string {
  return `ERR value is out of range, value must between ${min} and ${max}`;
}

/** Thrown by decoders; the connection replies `-ERR Protocol error: …` and closes, as Redis does. */
export class ProtocolError extends Error {
  constructor(detail: string) {
    super(`ERR Protocol error: ${detail}`);
    this.name = 'ProtocolError';
  }
}
