/**
 * The test homeserver: an in-process, spec-checked Matrix homeserver for
 * Mosaic's tests. See README.md. Never imported by src/ or appservice/.
 */
export { TestHomeserver, type TestHomeserverOptions } from './server.ts';
export { useTestHomeserver } from './vitest.ts';
export type { Human, SyncedEvent } from './humans.ts';
export type { AppserviceRegistration } from './auth.ts';
export type { PushRecord, PusherOptions } from './appservice.ts';
export type { SpecViolation } from './spec-checker.ts';
export { SpecChecker, formatViolation } from './spec-checker.ts';
export { FakeAppservice } from './fake-appservice.ts';
