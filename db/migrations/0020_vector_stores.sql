-- Files and vector stores (issue 12), the OpenAI shapes under /v1: a tenant uploads files (their
-- bytes sealed in object storage under the tenant's prefix, files/<id>), groups them into vector
-- stores, and each file added to a store is chunked and embedded by the `ingest` workflow, whose
-- progress is the row in vector_store_files. The points themselves live in the vector store
-- (activities/vectors). Tenant-owned: RLS by org like every tenant table.
CREATE TABLE files (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  filename text NOT NULL,
  bytes bigint NOT NULL,
  purpose text NOT NULL,
  content_type text NOT NULL,
  -- The API key (or machine client) that uploaded it.
  uploaded_by_key uuid,
  created_at timestamp with time zone DEFAULT now() NOT NULL,
  CONSTRAINT files_purpose_known CHECK (purpose IN ('assistants', 'user_data')),
  CONSTRAINT files_bytes_positive CHECK (bytes >= 0),
  CONSTRAINT files_filename_length CHECK (char_length(filename) BETWEEN 1 AND 255)
);
--> statement-breakpoint
CREATE INDEX files_org_idx ON files (org_id, created_at);
--> statement-breakpoint
CREATE TABLE vector_stores (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name text NOT NULL,
  metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
  -- The model its chunks are embedded with (through /v1/embeddings), and its vectors' size once the
  -- first file is embedded: a store's points are one collection of the vector store.
  embedding_model text NOT NULL,
  dimensions integer,
  created_at timestamp with time zone DEFAULT now() NOT NULL,
  last_active_at timestamp with time zone DEFAULT now() NOT NULL,
  CONSTRAINT vector_stores_name_length CHECK (char_length(name) <= 256),
  CONSTRAINT vector_stores_dimensions_range CHECK (dimensions IS NULL OR dimensions BETWEEN 1 AND 65536)
);
--> statement-breakpoint
CREATE INDEX vector_stores_org_idx ON vector_stores (org_id, created_at);
--> statement-breakpoint
CREATE TABLE vector_store_files (
  vector_store_id uuid NOT NULL REFERENCES vector_stores (id) ON DELETE CASCADE,
  file_id uuid NOT NULL REFERENCES files (id) ON DELETE CASCADE,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  status text DEFAULT 'in_progress' NOT NULL,
  attributes jsonb DEFAULT '{}'::jsonb NOT NULL,
  -- Whose usage the file's embeddings are: the user behind the key that added it, and its team.
  added_by uuid REFERENCES users (id) ON DELETE SET NULL,
  added_by_team uuid REFERENCES teams (id) ON DELETE SET NULL,
  -- Its chunking (OpenAI's static strategy, core/chunking.ts) and what ingestion made of it.
  max_chunk_tokens integer DEFAULT 800 NOT NULL,
  chunk_overlap_tokens integer DEFAULT 400 NOT NULL,
  chunks integer DEFAULT 0 NOT NULL,
  usage_bytes bigint DEFAULT 0 NOT NULL,
  -- Why ingestion failed: {code, message} (OpenAI's last_error).
  last_error jsonb,
  created_at timestamp with time zone DEFAULT now() NOT NULL,
  PRIMARY KEY (vector_store_id, file_id),
  CONSTRAINT vector_store_files_status_known CHECK (status IN ('in_progress', 'completed', 'failed', 'cancelled'))
);
--> statement-breakpoint
CREATE INDEX vector_store_files_org_idx ON vector_store_files (org_id, vector_store_id, created_at);
--> statement-breakpoint
CREATE INDEX vector_store_files_file_idx ON vector_store_files (file_id);
--> statement-breakpoint
ALTER TABLE files ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE files FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY files_tenant ON files USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
--> statement-breakpoint
ALTER TABLE vector_stores ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE vector_stores FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY vector_stores_tenant ON vector_stores
  USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
--> statement-breakpoint
ALTER TABLE vector_store_files ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE vector_store_files FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY vector_store_files_tenant ON vector_store_files
  USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON files, vector_stores, vector_store_files TO vlinders_app;
