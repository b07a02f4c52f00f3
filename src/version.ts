// Version strings reported by INFO, HELLO and --version.

/** KeyMesh's own version (kept equal to package.json's). */
export const VERSION = '0.1.0';

/** The Redis version whose behaviour we follow; clients gate features on `redis_version`. */
export const REDIS_COMPAT_VERSION = '7.2.0';
