// The operator console's page and bundle under /console, open to all: they hold no order data, which the page reads
// from the Bearer-protected API with the operator's token. Its own CSP is stricter than the API's default (below).
import { Router, type Response } from 'express';
import helmet from 'helmet';
import { CONSOLE_FILES, type ConsoleAssets, type ConsoleFile } from './console-assets';

export interface ConsoleSettings {
  /** The Temporal Web UI, for the link to an order's workflow. */
  temporalUiUrl: string;
  namespace: string;
}

// Helmet's default, less 'unsafe-inline' styles and less upgrade-insecure-requests, which would make a browser fetch
// the bundle over https from an API served on plain http (docker-compose on another host) and show a blank page.
const consolePolicy = helmet.contentSecurityPolicy({
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
});

export function consoleRoutes({ assets, settings }: { assets: ConsoleAssets; settings: ConsoleSettings }): Router {
  const router = Router();
  router.use('/console', consolePolicy);
  // Revalidated on every load (ETag), so a new bundle is picked up at once.
  const send = (res: Response, name: ConsoleFile) => {
    res.type(CONSOLE_FILES[name]).set('Cache-Control', 'no-cache').send(assets[name]);
  };
  router.get('/console', (_req, res) => send(res, 'index.html'));
  router.get('/console/console.js', (_req, res) => send(res, 'console.js'));
  router.get('/console/console.css', (_req, res) => send(res, 'console.css'));
  router.get('/console/settings.json', (_req, res) => {
    res.set('Cache-Control', 'no-cache').json(settings);
  });
  return router;
}
