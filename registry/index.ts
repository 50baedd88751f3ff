/**
 * The registry: Flow's MongoDB store, which maps events to workflow definitions. Store code stays within what both
 * MongoDB 6+ and FerretDB v1 support: no transactions, change streams, TTL indexes, `$lookup` or collation.
 */
export { openMongo, pingMongo } from './mongo';
export type { MongoHandle } from './mongo';
