/** What {@link readResponseBody} found. */
export type ResponseBodyResult =
  | { kind: 'complete'; bytes: Buffer }
  | { kind: 'too-large'; limit: number; declared?: number }
  | { kind: 'cut'; received: number; declared?: number; cause?: unknown };

function declaredLength(response: Response): number | undefined {
  const encoding = response.headers.get('content-encoding');
  if (encoding !== null && encoding.trim().toLowerCase() !== 'identity') return undefined;
  const header = response.headers.get('content-length');
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header);
}

/**
 * Reads a fetch response body into memory, refusing more than `maxBytes` (checked against `Content-Length` before
 * reading, and again while reading) and noticing a body that ends before its declared `Content-Length` or breaks off.
 * When `signal` aborts during the read, the abort error is rethrown for the caller to classify.
 *
 * @example
 * const body = await readResponseBody(response, 32 * 1024 ** 2, signal);
 * if (body.kind === 'complete') parse(body.bytes);
 */
export async function readResponseBody(response: Response, maxBytes: number, signal: AbortSignal): Promise<ResponseBodyResult> {
  const declared = declaredLength(response);
  if (declared !== undefined && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    return { kind: 'too-large', limit: maxBytes, declared };
  }
  if (response.body === null) return declared ? { kind: 'cut', received: 0, declared } : { kind: 'complete', bytes: Buffer.alloc(0) };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
      if (received > maxBytes) {
        await reader.cancel().catch(() => undefined);
        return { kind: 'too-large', limit: maxBytes };
      }
      chunks.push(value);
    }
  } catch (err) {
    if (signal.aborted) throw err;
    return { kind: 'cut', received, declared, cause: err };
  } finally {
    reader.releaseLock();
  }
  if (declared !== undefined && received !== declared) return { kind: 'cut', received, declared };
  return { kind: 'complete', bytes: Buffer.concat(chunks) };
}
