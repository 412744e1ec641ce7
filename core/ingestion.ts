// A file's ingestion into a vector store (workflows/ingest.ts, activities/ingest/): what the
// workflow, its activities and the API share.

export interface IngestInput {
  orgId: string;
  vectorStoreId: string;
  fileId: string;
}

/** Why a file's ingestion failed: OpenAI's `last_error` of a vector-store file. */
export interface IngestError {
  code: 'server_error' | 'unsupported_file' | 'invalid_file';
  message: string;
}

export interface IngestOutcome {
  status: 'completed' | 'failed' | 'cancelled';
  chunks: number;
  lastError: IngestError | null;
}
