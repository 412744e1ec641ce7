// Relays an upstream's server-sent events to the client as they complete, without buffering the
// answer: each upstream chunk is cut at its last event boundary, the complete events go out at
// once, an unfinished event waits for the rest of its bytes (never coalesced with a later chunk
// beyond that, never split). On the way it reads what metering needs: the usage the upstream
// reports in its last chunk (asked for with `stream_options.include_usage`), or, when none comes,
// a count of the generated pieces. The usage-only chunk is dropped when the client did not ask for
// it, and the closing `[DONE]` is held back so the gateway can record usage before the client
// sees the end of the stream. Boundaries are "\n\n", as vLLM and the simulator write them; bytes
// are searched, not decoded, since a UTF-8 sequence never contains a newline byte. The upstream's
// model name becomes the public one in every event (model-name.ts).
import type { ModelNameRewrite } from './model-name.js';
import type { UpstreamUsage } from './usage.js';
import { readUsage } from './usage.js';

const boundary = Buffer.from('\n\n');
const doneEvent = Buffer.from('data: [DONE]\n\n');
const usageMarker = Buffer.from('"usage":{');
const pieceMarkers = [Buffer.from('"content":"'), Buffer.from('"text":"')];

export class StreamRelay {
  /** The usage the upstream reported, if it did. */
  usage: UpstreamUsage | null = null;
  /** Generated pieces (content deltas) seen: the completion estimate when no usage comes. */
  pieces = 0;
  /** Whether the upstream sent `[DONE]` (it is held back: write `doneEvent` to finish). */
  done = false;
  private pending: Buffer | null = null;

  constructor(
    private readonly forwardUsageChunk: boolean,
    /** The public model name for the upstream's, in every event. */
    private readonly rename: ModelNameRewrite | null = null,
  ) {}

  static readonly doneEvent = doneEvent;

  /** Takes an upstream chunk; returns the bytes to send the client now (possibly empty). */
  push(chunk: Buffer): Buffer {
    const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    const end = data.lastIndexOf(boundary);
    if (end === -1) {
      this.pending = data;
      return Buffer.alloc(0);
    }
    const cut = end + boundary.length;
    this.pending = cut < data.length ? data.subarray(cut) : null;
    const events = this.inspect(data.subarray(0, cut));
    return this.rename ? this.rename.bytes(events) : events;
  }

  /** Bytes left after the upstream ended without a final boundary. */
  rest(): Buffer {
    const rest = this.pending ?? Buffer.alloc(0);
    this.pending = null;
    return this.rename ? this.rename.bytes(rest) : rest;
  }

  /** Counts and filters complete events; returns them unchanged when nothing is dropped. */
  private inspect(events: Buffer): Buffer {
    const hasUsage = events.includes(usageMarker);
    const hasDone = events.includes(doneEvent);
    this.countPieces(events);
    if (!hasUsage && !hasDone) return events;

    const kept: Buffer[] = [];
    let start = 0;
    while (start < events.length) {
      const end = events.indexOf(boundary, start) + boundary.length;
      const event = events.subarray(start, end);
      start = end;
      if (event.equals(doneEvent)) {
        this.done = true;
        continue;
      }
      if (event.includes(usageMarker) && this.usageOnly(event) && !this.forwardUsageChunk) continue;
      kept.push(event);
    }
    return kept.length === 1 ? kept[0]! : Buffer.concat(kept);
  }

  /** Reads the usage of an event; true when it is the usage-only chunk (no choices). */
  private usageOnly(event: Buffer): boolean {
    const text = event.toString('utf8');
    const json = text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1);
    try {
      const parsed = JSON.parse(json) as { choices?: unknown[]; usage?: unknown };
      const usage = readUsage(parsed.usage);
      if (usage) this.usage = usage;
      return Array.isArray(parsed.choices) && parsed.choices.length === 0;
    } catch {
      return false;
    }
  }

  private countPieces(events: Buffer): void {
    for (const marker of pieceMarkers) {
      let at = events.indexOf(marker);
      while (at !== -1) {
        // An empty string ("content":"") generated nothing.
        if (events[at + marker.length] !== 0x22) this.pieces += 1;
        at = events.indexOf(marker, at + marker.length);
      }
    }
  }
}
