// The Temporal client of the API: its data converter encrypts every payload with the tenant's key.
// The connection is lazy, so the API starts (and /readyz reports Temporal down) while Temporal is
// briefly unavailable; the first call connects.
import { Client, Connection } from '@temporalio/client';
import type { Db } from '../db/client.js';
import { createDataConverter } from './codec.js';
import { temporalConnection } from './temporal-connection.js';
import type { Config } from './config.js';
import { temporalClientInterceptors } from './temporal-tracing.js';

export async function createTemporalClient(config: Config, db: Db): Promise<Client> {
  const settings = await temporalConnection(config);
  const connection = Connection.lazy({
    address: settings.address,
    tls: settings.tls,
    apiKey: settings.apiKey,
  });
  return new Client({
    connection,
    namespace: settings.namespace,
    dataConverter: createDataConverter(config, db),
    interceptors: temporalClientInterceptors(),
  });
}
