// A named stand-in for a Ray dashboard's Serve REST API, for the console's browser tests only: it
// keeps the last PUT of `/api/serve/applications/` (Serve's whole desired state) and answers GET
// with each of those applications still DEPLOYING, so a rollout on this cluster holds in its deploy
// phase for as long as a test watches it. Real rollouts run against Ray Serve in test/serving/; this
// answers in the shape activities/ray/serve-api.ts reads from the real one.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServeConfig } from '../../core/serving.js';

export interface FakeServeDashboard {
  url: string;
  stop(): Promise<void>;
}

export async function startFakeServeDashboard(): Promise<FakeServeDashboard> {
  let desired: ServeConfig = { applications: [] };
  const server: Server = createServer((request, response) => {
    if (request.url !== '/api/serve/applications/') {
      response.writeHead(404).end();
      return;
    }
    if (request.method === 'PUT') {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        desired = JSON.parse(body) as ServeConfig;
        response.writeHead(200).end();
      });
      return;
    }
    const applications = Object.fromEntries(
      desired.applications.map((app) => [
        app.name,
        {
          status: 'DEPLOYING',
          message: '',
          route_prefix: app.route_prefix,
          deployed_app_config: app,
          deployments: {},
        },
      ]),
    );
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ applications }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
