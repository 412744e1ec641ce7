// The Temporal connection settings of the API and the workers, from config: address, namespace,
// API key, and the mTLS client certificate read from its files.
import { readFile } from 'node:fs/promises';
import type { Config } from './config.js';

export interface TemporalConnectionSettings {
  address: string;
  namespace: string;
  tls?: { clientCertPair?: { crt: Buffer; key: Buffer } } | undefined;
  apiKey?: string | undefined;
}

/** Connection settings from config; reads certificate files when mTLS is configured. */
export async function temporalConnection(config: Config): Promise<TemporalConnectionSettings> {
  let tls: TemporalConnectionSettings['tls'];
  if (config.TEMPORAL_TLS) {
    tls = {};
    if (config.TEMPORAL_TLS_CERT_PATH && config.TEMPORAL_TLS_KEY_PATH) {
      tls.clientCertPair = {
        crt: await readFile(config.TEMPORAL_TLS_CERT_PATH),
        key: await readFile(config.TEMPORAL_TLS_KEY_PATH),
      };
    }
  }
  return {
    address: config.TEMPORAL_ADDRESS,
    namespace: config.TEMPORAL_NAMESPACE,
    tls,
    apiKey: config.TEMPORAL_API_KEY,
  };
}
