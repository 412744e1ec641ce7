// How a document becomes the chunks a vector store embeds: OpenAI's static chunking (chunks of at
// most `maxChunkTokens`, each overlapping the one before by `overlapTokens`). Tokens are counted as
// four characters, the usual estimate for English text, since each model has its own tokenizer and
// the chunks are sized for the embedding model's context, not billed by this count. Chunks end at
// whitespace where there is some, so words are not cut.

export interface ChunkingStrategy {
  maxChunkTokens: number;
  overlapTokens: number;
}

/** OpenAI's defaults (`auto`). */
export const defaultChunking: ChunkingStrategy = { maxChunkTokens: 800, overlapTokens: 400 };

const charsPerToken = 4;

/** Why a strategy is refused (OpenAI's bounds), or null when it is valid. */
export function chunkingProblem({ maxChunkTokens, overlapTokens }: ChunkingStrategy): string | null {
  if (!Number.isInteger(maxChunkTokens) || maxChunkTokens < 100 || maxChunkTokens > 4096)
    return 'max_chunk_size_tokens must be an integer from 100 to 4096';
  if (!Number.isInteger(overlapTokens) || overlapTokens < 0 || overlapTokens > maxChunkTokens / 2)
    return 'chunk_overlap_tokens must be an integer from 0 to half of max_chunk_size_tokens';
  return null;
}

/** The text's chunks, in order; none for blank text. */
export function chunkText(text: string, strategy: ChunkingStrategy = defaultChunking): string[] {
  const maxChars = strategy.maxChunkTokens * charsPerToken;
  const overlapChars = strategy.overlapTokens * charsPerToken;
  const chunks: string[] = [];
  let start = skipWhitespace(text, 0);
  while (start < text.length) {
    let end = Math.min(start + maxChars, text.length);
    if (end < text.length) {
      // Back to the last whitespace in the chunk's second half, if any.
      const cut = lastWhitespace(text, start + Math.floor(maxChars / 2), end);
      if (cut > start) end = cut;
    }
    const chunk = text.slice(start, end).trim();
    if (chunk) chunks.push(chunk);
    if (end >= text.length) break;
    // The next chunk starts `overlap` before this one's end, at a word, and always moves forward.
    let next = end - overlapChars;
    if (next <= start) next = end;
    else {
      const word = lastWhitespace(text, start + 1, next);
      if (word > start) next = word;
    }
    start = skipWhitespace(text, next);
  }
  return chunks;
}

function isWhitespace(char: string | undefined): boolean {
  return char !== undefined && /\s/.test(char);
}

function skipWhitespace(text: string, from: number): number {
  let i = from;
  while (i < text.length && isWhitespace(text[i])) i++;
  return i;
}

/** The index of the last whitespace in [from, to), or -1. */
function lastWhitespace(text: string, from: number, to: number): number {
  for (let i = to - 1; i >= from; i--) if (isWhitespace(text[i])) return i;
  return -1;
}
