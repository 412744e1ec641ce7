// The affinity key of an inference request: the leading characters of its prompt, which the router
// hashes onto a deployment's replicas (prefix-ring.ts). Requests sharing a system prompt or a
// conversation's opening turns then land on the replica whose vLLM prefix cache holds it.
// Only the first `maxChars` characters are read, so the cost does not grow with the prompt.

export const affinityChars = 256;

/** The key of a request body (chat, completions or embeddings); '' when it has no text. */
export function affinityKey(body: unknown, maxChars: number = affinityChars): string {
  if (typeof body !== 'object' || body === null) return '';
  const request = body as { messages?: unknown; prompt?: unknown; input?: unknown };
  if (Array.isArray(request.messages)) return messagesPrefix(request.messages, maxChars);
  return promptPrefix(request.prompt ?? request.input, maxChars);
}

/** The concatenated leading messages, `role: text` each, up to `maxChars`. */
function messagesPrefix(messages: readonly unknown[], maxChars: number): string {
  let key = '';
  for (const message of messages) {
    if (key.length >= maxChars) break;
    if (typeof message !== 'object' || message === null) continue;
    const { role, content } = message as { role?: unknown; content?: unknown };
    key += `${typeof role === 'string' ? role : ''}: ${contentText(content, maxChars - key.length)}\n`;
  }
  return key.slice(0, maxChars);
}

/** A message's text (a string, or the text parts of a content array), up to `maxChars`. */
export function contentText(content: unknown, maxChars: number): string {
  if (typeof content === 'string') return content.slice(0, maxChars);
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content) {
    if (text.length >= maxChars) break;
    const value = (part as { text?: unknown } | null)?.text;
    if (typeof value === 'string') text += value;
  }
  return text.slice(0, maxChars);
}

/** A prompt: a string, a list of strings (the first), or token ids (a list, or the first list). */
function promptPrefix(prompt: unknown, maxChars: number): string {
  if (typeof prompt === 'string') return prompt.slice(0, maxChars);
  if (!Array.isArray(prompt) || prompt.length === 0) return '';
  const first: unknown = prompt[0];
  if (typeof first === 'string' || Array.isArray(first)) return promptPrefix(first, maxChars);
  let key = '';
  for (const token of prompt) {
    if (key.length >= maxChars || typeof token !== 'number') break;
    key += `${token},`;
  }
  return key.slice(0, maxChars);
}
