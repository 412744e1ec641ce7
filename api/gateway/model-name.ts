// The public model name in /v1 answers: an upstream answers with its own name for the model (vLLM
// behind Ray Serve says `"model":"tiny-chat-v1"`), which the client never asked for and should not
// learn. The name is replaced on the answer's bytes, with no parse: the key and its value are
// searched as the upstream writes them (compact JSON, as vLLM and the simulator do). A generated
// text cannot fake the key, since a quote inside a JSON string is always escaped (`\"model\":`).

export interface ModelNameRewrite {
  /** The bytes with every `"model":"<upstream>"` made `"model":"<public>"`. */
  bytes(data: Buffer): Buffer;
  /** The same, for a whole answer already read as text. */
  text(data: string): string;
}

const rewrites = new Map<string, ModelNameRewrite>();
const maxRewrites = 10_000;

/** The rewrite from an upstream's model name to the public one; null when they are the same. */
export function modelNameRewrite(upstreamModel: string, publicModel: string): ModelNameRewrite | null {
  if (upstreamModel === publicModel) return null;
  const key = `${upstreamModel}\n${publicModel}`;
  let rewrite = rewrites.get(key);
  if (!rewrite) {
    rewrite = rewriteOf(`"model":${JSON.stringify(upstreamModel)}`, `"model":${JSON.stringify(publicModel)}`);
    if (rewrites.size >= maxRewrites) rewrites.clear();
    rewrites.set(key, rewrite);
  }
  return rewrite;
}

function rewriteOf(from: string, to: string): ModelNameRewrite {
  const needle = Buffer.from(from);
  const replacement = Buffer.from(to);
  return {
    bytes(data) {
      let at = data.indexOf(needle);
      if (at === -1) return data;
      const parts: Buffer[] = [];
      let start = 0;
      while (at !== -1) {
        parts.push(data.subarray(start, at), replacement);
        start = at + needle.length;
        at = data.indexOf(needle, start);
      }
      parts.push(data.subarray(start));
      return Buffer.concat(parts);
    },
    text: (data) => data.replaceAll(from, to),
  };
}
