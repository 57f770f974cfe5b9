/** The store's time functions are the package's one time module (lib/time/zoned-time). */
export * from '../time/zoned-time';
