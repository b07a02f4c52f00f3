// Which writes have a reply that applying cannot change: `OK` whatever the keyspace
// holds. At the `eventual` level the leader answers these as soon as it has appended
// their entry (DESIGN.md, Consistency levels); every other write's reply is the result
// of applying it, so it waits for apply.
//
// It reads the log form of a write, the one the write path sees: strings.ts rewrites
// SETEX, PSETEX and SET's EX/PX/EXAT into `set key value … PXAT at`, and refuses bad
// syntax before proposing, so a logged `set` or `mset` always applies with `OK` unless
// NX, XX or GET make its reply depend on the key.

/** SET options followed by an argument (only PXAT reaches the log; the others for safety). */
const setOptionsWithArgument: ReadonlySet<string> = new Set(['EX', 'PX', 'EXAT', 'PXAT']);
/** SET options whose reply depends on the key's current value. */
const setOptionsReadingTheKey: ReadonlySet<string> = new Set(['NX', 'XX', 'GET']);

/** True when the logged write `argv` (argv[0] a lower-case command name) applies with `OK` in every keyspace. */
export function replyIndependentOfKeyspace(argv: readonly string[]): boolean {
  const name = argv[0];
  if (name === 'mset') return true;
  if (name !== 'set') return false;
  for (let i = 3; i < argv.length; i++) {
    const word = argv[i]!.toUpperCase();
    if (setOptionsReadingTheKey.has(word)) return false;
    if (setOptionsWithArgument.has(word)) i++;
  }
  return true;
}
