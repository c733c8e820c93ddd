import { BSON, MongoInvalidArgumentError, MongoNetworkError, MongoNotConnectedError, MongoNetworkTimeoutError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { RetentionError } from '../../../src/errors.js';
import { asImportFailure, ImportFileError, isDeterministicFailure } from '../../../src/import/import-errors.js';
import { refusesManifest } from '../../../src/import/import-errors.js';

const MANIFEST = 'acme/2026/11/23/manifest-r1.json';

describe('failures a retry would repeat', () => {
  it.each([
    ['a RangeError', new RangeError('The value of "offset" is out of range.')],
    ['a TypeError', new TypeError('Cannot read properties of undefined')],
    ['a MongoInvalidArgumentError', new MongoInvalidArgumentError('Document is larger than the maximum size 16777216')],
    ['a BSONError', new BSON.BSONError('key a\u0000b must not contain null bytes')],
  ])('%s becomes the permanent ERR_IMPORT_UNEXPECTED, naming what failed', (_name, err) => {
    expect(isDeterministicFailure(err)).toBe(true);
    const failure = asImportFailure(err, MANIFEST, 'acme/2026/11/23/chats/chats-1.json.gz');
    expect(failure).toBeInstanceOf(ImportFileError);
    expect(failure).toMatchObject({ code: 'ERR_IMPORT_UNEXPECTED', file: 'acme/2026/11/23/chats/chats-1.json.gz', cause: err });
    expect((failure as Error).message).toContain(err.message);
    expect((failure as Error).message).toContain(MANIFEST);
    expect(refusesManifest(failure)).toBe(true);
    expect(asImportFailure(err, MANIFEST)).toMatchObject({ code: 'ERR_IMPORT_UNEXPECTED' });
  });

  it.each([
    ['a network error', new MongoNetworkError('connection reset')],
    ['a network timeout', new MongoNetworkTimeoutError('connection timed out')],
    ['a closed client', new MongoNotConnectedError('Client must be connected before running operations')],
    ['a plain Error (an SFTP failure)', new Error('ECONNRESET')],
    ['a transient RetentionError', new RetentionError('ERR_ARCHIVE_MISSING', 'rebuild queued')],
    ['a permanent RetentionError', new RetentionError('ERR_IMPORT_RECORD_INVALID', 'bad record')],
  ])('%s is left as it is', (_name, err) => {
    expect(isDeterministicFailure(err)).toBe(false);
    expect(asImportFailure(err, MANIFEST, 'f')).toBe(err);
  });
});
