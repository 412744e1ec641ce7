// The layering, as lint rules (part of `npm run lint` and the test command). Arrows point inward:
// api and workers → activities, db, core; workflows → core and activity types; core → nothing.
// Inside api/, services (the work behind handlers) never import plugins or routes.
// test/unit/lint/layering.test.ts plants a violation of each rule and expects it to fail.

/** What core/ may not reach: storage, the network, processes (node:crypto's hashing is fine). */
const ioClients = [
  'node:fs',
  'node:fs/*',
  'fs',
  'node:http',
  'http',
  'node:https',
  'https',
  'node:child_process',
  'child_process',
  'pg',
  'drizzle-orm',
  'drizzle-orm/*',
  'ioredis',
  'stripe',
  '@qdrant/*',
  'undici',
];

/** Modules that do I/O or are Node built-ins: never in workflow code (Temporal's sandbox). */
const ioModules = [...ioClients, 'node:*', 'path', 'crypto', 'net', 'os'];

/** A path inside the project, as a relative import names it (never a package such as @opentelemetry/api). */
const local = (pattern) => [`./**/${pattern}`, `../**/${pattern}`];
const folder = (name) => local(`${name}/*`);

/** The API starts and talks to workflows through their definitions only, never their code. */
const workflowsButDefinitions = [
  ...local('workflows/*'),
  ...local('workflows/definitions.js').map((pattern) => `!${pattern}`),
];

/** Fastify plugins and route plugins inside api/: files services must not import. */
const apiPluginFiles = [
  'plugins/*',
  'routes.js',
  '*-routes.js',
  'plugin.js',
  '*-plugin.js',
  'app.js',
  'server.js',
  ...['gateway', 'identity', 'control', 'billing', 'codec'].map((system) => `${system}/index.js`),
].flatMap(local);

const restrict = (...groups) => ({
  'no-restricted-imports': ['error', { patterns: groups }],
});

export default [
  {
    files: ['core/**/*.ts'],
    rules: restrict(
      {
        group: ['../*'],
        message: 'core/ is pure domain logic: it imports nothing of the project outside core/.',
      },
      { group: ioClients, message: 'core/ does no I/O: no storage, network or process clients.' },
    ),
  },
  {
    files: ['db/**/*.ts'],
    rules: restrict({
      group: ['api', 'activities', 'workers', 'workflows', 'runtime', 'simulator'].flatMap(folder),
      message: 'db/ imports only core/.',
    }),
  },
  {
    files: ['runtime/**/*.ts'],
    rules: restrict({
      group: ['api', 'activities', 'workers', 'workflows', 'simulator'].flatMap(folder),
      message: 'runtime/ is process plumbing: it imports db/ and core/ only.',
    }),
  },
  {
    files: ['activities/**/*.ts'],
    rules: restrict({
      group: ['api', 'workers', 'workflows', 'simulator'].flatMap(folder),
      message: 'Activities do not import workflows, workers or the API (shared types live in core/).',
    }),
  },
  {
    files: ['workers/**/*.ts'],
    rules: restrict({
      group: ['api', 'simulator'].flatMap(folder),
      message: 'Workers do not import the API.',
    }),
  },
  {
    files: ['workflows/**/*.ts'],
    rules: restrict(
      {
        group: [...ioModules, ...['api', 'db', 'runtime', 'workers', 'simulator'].flatMap(folder)],
        message: 'Workflow code must stay deterministic: no I/O modules.',
      },
      { group: folder('activities'), allowTypeImports: true, message: 'Import activities as types only.' },
    ),
  },
  {
    files: ['api/**/*.ts'],
    rules: restrict({
      group: [...['workers', 'simulator'].flatMap(folder), ...workflowsButDefinitions],
      message: 'The API talks to workflows through workflows/definitions.ts only, and never imports workers.',
    }),
  },
  {
    // Services: every api/ file that is not a plugin, a route plugin or the app itself.
    files: ['api/**/*.ts'],
    ignores: [
      'api/app.ts',
      'api/server.ts',
      'api/plugins/**',
      'api/**/index.ts',
      'api/**/routes.ts',
      'api/**/*-routes.ts',
      'api/**/plugin.ts',
      'api/**/*-plugin.ts',
    ],
    rules: restrict(
      { group: [...['workers', 'simulator'].flatMap(folder), ...workflowsButDefinitions] },
      {
        group: apiPluginFiles,
        message: 'Services do not import plugins or routes: take what they need as arguments.',
      },
    ),
  },
];
