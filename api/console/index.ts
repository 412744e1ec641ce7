// The admin console under /console: the single-page app's build (console/, built by Vite into
// CONSOLE_DIR) and the settings it signs in with. The build is small, so it is read into memory
// whole, once; requests are answered from that map, never by joining a path to the URL, so no URL
// can reach another file. Asset names carry a content hash: cached for good. index.html answers
// every other path (the app routes on the client) and no browser keeps it, so a new release takes
// effect on the next page load. Until a build exists the API runs without it, /console says how to
// build it, and each request looks again; a rebuild while a build is loaded waits for a restart.
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyHelmetOptions } from '@fastify/helmet';
import Type from 'typebox';
import { AppError } from '../errors.js';
import {
  consoleClientId,
  consolePostLogoutRedirectUri,
  consoleRedirectUri,
  consoleScope,
} from '../identity/oidc/console-client.js';
import { oidcIssuer } from '../identity/oidc/provider.js';

interface StaticFile {
  body: Buffer;
  type: string;
}

interface ConsoleBuild {
  index: Buffer;
  /** By file name: Vite writes its assets flat into assets/. */
  assets: Map<string, StaticFile>;
}

const contentTypes: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** No such file, or a file where a directory should be. */
function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** The build in `dir`, or null when it has no index.html yet. */
async function readBuild(dir: string): Promise<ConsoleBuild | null> {
  let index: Buffer;
  try {
    index = await readFile(join(dir, 'index.html'));
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
  const assets = new Map<string, StaticFile>();
  const assetDir = join(dir, 'assets');
  const entries = await readdir(assetDir, { withFileTypes: true }).catch((err: unknown) => {
    if (isMissing(err)) return [];
    throw err;
  });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const type = contentTypes[extname(entry.name)] ?? 'application/octet-stream';
    assets.set(entry.name, { body: await readFile(join(assetDir, entry.name)), type });
  }
  return { index, assets };
}

/**
 * The console's own policy: its scripts and styles are files of its build (Vite inlines nothing,
 * console/vite.config.ts), it talks to this origin only (the API and /oidc), and no page may frame
 * it. Images may be data: URLs, which Vite and the charts library emit for small icons.
 */
const consoleHeaders: Omit<FastifyHelmetOptions, 'global'> = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      fontSrc: ["'self'"],
      connectSrc: ["'self'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
  },
  // The same answer as frame-ancestors for browsers that know only this header.
  xFrameOptions: { action: 'deny' },
  referrerPolicy: { policy: 'no-referrer' },
};

const ConsoleSettings = Type.Object({
  issuer: Type.String(),
  clientId: Type.String(),
  redirectUri: Type.String(),
  postLogoutRedirectUri: Type.String(),
  scope: Type.String(),
  temporalUiUrl: Type.String(),
  temporalNamespace: Type.String(),
  grafanaUrl: Type.Union([Type.String(), Type.Null()]),
});

/** Registered in the browser-facing scope: helmet sets the headers, with the console's policy above. */
const consolePlugin: FastifyPluginAsyncTypebox = async (app) => {
  const { config } = app;
  const dir = resolve(config.CONSOLE_DIR);
  // An unreadable build must not stop the API: the console is one part of it.
  let build = await readBuild(dir).catch((err: unknown) => {
    app.log.error({ err, dir }, 'the admin console could not be read');
    return null;
  });
  if (!build) app.log.warn({ dir }, 'the admin console is not built; /console answers 503 until it is');

  /** The build, looked for again while there is none (it may be built after the API started). */
  const currentBuild = async (): Promise<ConsoleBuild> => {
    build ??= await readBuild(dir);
    if (!build) throw new AppError('CONSOLE_NOT_BUILT');
    return build;
  };

  const route = { helmet: consoleHeaders, schema: { hide: true } };

  app.get('/console', route, async (request, reply) => {
    const query = request.url.slice('/console'.length);
    return reply.redirect(`/console/${query}`, 301);
  });

  app.get(
    '/console/config.json',
    { ...route, schema: { hide: true, response: { 200: ConsoleSettings } } },
    async (_request, reply) => {
      reply.header('cache-control', 'no-store');
      return {
        issuer: oidcIssuer(config),
        clientId: consoleClientId,
        redirectUri: consoleRedirectUri(config),
        postLogoutRedirectUri: consolePostLogoutRedirectUri(config),
        scope: consoleScope,
        temporalUiUrl: config.TEMPORAL_UI_ORIGIN,
        temporalNamespace: config.TEMPORAL_NAMESPACE,
        grafanaUrl: config.GRAFANA_URL ?? null,
      };
    },
  );

  const AssetParams = Type.Object({ '*': Type.String() });
  app.get(
    '/console/assets/*',
    { ...route, schema: { hide: true, params: AssetParams } },
    async (request, reply) => {
      const name = request.params['*'];
      const asset = (await currentBuild()).assets.get(name);
      if (!asset) throw new AppError('NOT_FOUND', `The console has no asset ${name}.`);
      return reply
        .header('cache-control', 'public, max-age=31536000, immutable')
        .type(asset.type)
        .send(asset.body);
    },
  );

  // Every other path is one of the app's own routes (/console/orgs/…, /console/callback).
  app.get('/console/*', route, async (_request, reply) => {
    const { index } = await currentBuild();
    return reply.header('cache-control', 'no-store').type('text/html; charset=utf-8').send(index);
  });
};

export default consolePlugin;
