/**
 * Whether a string is a UUID as PostgreSQL's uuid type reads it. A lookup
 * by an id that is not one finds nothing: asking the database would fail
 * the cast (a 500) instead of answering "not found".
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}
