/**
 * Compile-time checks that two types are the same: a zod schema's inferred
 * type and the hand-written interface it describes (the file schemas,
 * src/io/schema.ts, src/ensemble/schema.ts, src/fit/schema.ts) fail to
 * compile when they drift apart.
 *
 * @example
 * export type StatsAgree = Assert<Equal<z.infer<typeof stageStatsSchema>, StageStats>>; // `true`, or a compile error
 */

/** true when A and B are identical types (not merely assignable either way), else false. */
export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** `true`; a compile error where T is not (as in `Assert<Equal<A, B>>` where A and B differ). */
export type Assert<T extends true> = T;
