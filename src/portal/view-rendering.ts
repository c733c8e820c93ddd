import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ejs from 'ejs';
import type { Express } from 'express';

/**
 * The `views/` directory: beside `src/` when run from source (`tsx`), or two levels above `dist/src/portal/` when
 * built. Throws when neither holds `layout.ejs`.
 */
export function findViewsDirectory(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, '../../views'), resolve(here, '../../../views')];
  const found = candidates.find((dir) => existsSync(join(dir, 'layout.ejs')));
  if (found === undefined) throw new Error(`views/layout.ejs not found (looked in ${candidates.join(', ')})`);
  return found;
}

/**
 * Registers EJS with a layout: a page template is rendered first, then `layout.ejs` around it (the page's HTML
 * arrives as `body`, the only value the layout prints unescaped; every data value is printed with `<%= %>`).
 * Templates (and where their files are) are cached unless `cache` is false.
 *
 * @example
 * useEjsLayout(app, findViewsDirectory(), { cache: true });
 * res.render('sign-in', { title: 'Sign in' });
 */
export function useEjsLayout(app: Express, viewsDirectory: string, options: { cache: boolean }): void {
  const layout = join(viewsDirectory, 'layout.ejs');
  app.engine('ejs', (path: string, locals: object, callback: (err: unknown, html?: string) => void) => {
    const ejsOptions = { cache: options.cache, views: [viewsDirectory], root: viewsDirectory };
    ejs
      .renderFile(path, locals as ejs.Data, ejsOptions)
      .then(
        (body) => ejs.renderFile(layout, { ...(locals as ejs.Data), body }, ejsOptions).then((html) => callback(null, html)),
        (err: unknown) => callback(err),
      )
      .catch((err: unknown) => callback(err));
  });
  app.set('views', viewsDirectory);
  app.set('view engine', 'ejs');
  // Express looks a view's file up on disk on every render unless its view cache is on (only with NODE_ENV=production)
  app.set('view cache', options.cache);
}
