// Opt-in: the same contract against a real Qdrant server, to catch where the stand-in (the real
// engine behind our own REST layer) and the server differ. Each run uses collections of its own
// (vlinders_test-embed-<random>_<n>) and leaves them behind; point it at a scratch server.
import { describe } from 'vitest';
import { QdrantVectorStore } from '../../../activities/vectors/qdrant-adapter.js';
import { describeVectorStoreContract } from './contract.js';

// Read here, not through runtime/config: a test switch, not platform configuration.
const url = process.env.QDRANT_URL;
const apiKey = process.env.QDRANT_API_KEY;

describe.skipIf(!url)(
  'Qdrant adapter against a real Qdrant server (skipped: set QDRANT_URL to run it)',
  () => {
    describeVectorStoreContract('real qdrant', async () => new QdrantVectorStore({ url: url!, apiKey }));
  },
);
