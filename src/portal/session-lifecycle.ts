import type { Request } from 'express';

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
