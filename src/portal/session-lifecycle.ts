import { randomBytes } from 'node:crypto';
import type { Request } from 'express';

/**
 * A new session id: 256 bits from the operating system's CSPRNG (`crypto.randomBytes`), base64url, 43 characters
 * (ASVS 3.2.2, 3.2.4; 5.0 7.2.3). The portal hands it to express-session as `genid`.
 *
 * @example
 * newSessionId(); // 'q3Zk…' (43 characters of A-Z a-z 0-9 - _)
 */
export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

/** Replaces the session id (and empties the session): against fixation, at sign-in and after the second factor (ASVS 3.2.1). */
export function regenerateSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((err: unknown) => (err ? reject(asError(err)) : resolve())));
}

/** Writes the session to the store now: before a redirect, so the next request sees it. */
export function saveSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.save((err: unknown) => (err ? reject(asError(err)) : resolve())));
}

/** Ends the session in the store. */
export function destroySession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.destroy((err: unknown) => (err ? reject(asError(err)) : resolve())));
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
