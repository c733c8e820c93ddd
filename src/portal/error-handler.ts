import type { NextFunction, Request, Response } from 'express';
import { RetentionError } from '../errors.js';
import type { Logger } from '../logger.js';

/** What an error becomes on the page: a status and a message safe to show. */
interface ShownError {
  status: number;
  code: string;
  message: string;
}

function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const status = (err as { status?: unknown; statusCode?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : undefined;
}

function describe(err: unknown): ShownError {
  if (err instanceof RetentionError) {
    return err.status >= 500
      ? { status: err.status, code: err.code, message: 'Something went wrong on our side. Try again in a moment.' }
      : { status: err.status, code: err.code, message: err.message };
  }
  const status = statusOf(err);
  if ((err as { code?: unknown } | null)?.code === 'EBADCSRFTOKEN') {
    return { status: 403, code: 'ERR_CSRF_INVALID', message: 'This form has expired or did not come from this site. Go back, reload the page and try again.' };
  }
  if (status !== undefined && status < 500) return { status, code: 'ERR_BAD_REQUEST', message: 'The request could not be read. Go back and try again.' };
  return { status: status ?? 500, code: 'ERR_INTERNAL', message: 'Something went wrong on our side. Try again in a moment.' };
}

/**
 * The portal's one error handler: renders the error page with the status of a {@link RetentionError} (its message
 * is written for users), refuses a bad CSRF token with 403, and logs only 5xx errors; users never see a stack or an
 * internal message.
 */
export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return next(err);
    const shown = describe(err);
    if (shown.status >= 500) logger.error({ err, method: req.method, path: req.path }, 'portal request failed');
    res.status(shown.status);
    res.set('Cache-Control', 'no-store');
    res.render('error', { title: shown.status === 404 ? 'Not found' : 'Something is not right', error: shown }, (renderErr: unknown, html?: string) => {
      if (renderErr !== null && renderErr !== undefined) {
        logger.error({ err: renderErr }, 'the error page could not be rendered');
        res.type('text/plain').send(shown.message);
        return;
      }
      res.send(html);
    });
  };
}
