import { MongoServerError } from 'mongodb';

/** True when `err` is MongoDB's duplicate-key error (code 11000). */
export function isDuplicateKeyError(err: unknown): boolean {
  return err instanceof MongoServerError && err.code === 11000;
}
