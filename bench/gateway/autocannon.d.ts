// The part of autocannon 9's API the gateway benchmark uses (the package ships no types).
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  interface Options {
    url: string;
    method?: 'GET' | 'POST';
    headers?: Record<string, string>;
    body?: string;
    connections?: number;
    /** Seconds. */
    duration?: number;
    /** Requests in all; each connection stops after its share (nothing is cut off mid-flight). */
    amount?: number;
    /** Requests per second over all connections. */
    overallRate?: number;
    /** Seconds. */
    timeout?: number;
  }

  interface Result {
    errors: number;
    timeouts: number;
    non2xx: number;
    '2xx': number;
    duration: number;
    requests: { total: number; sent: number };
  }

  interface Instance extends EventEmitter, PromiseLike<Result> {
    /** Every answer, with its latency in ms (fractional, unlike the result's histogram). */
    on(
      event: 'response',
      listener: (client: unknown, statusCode: number, bytes: number, ms: number) => void,
    ): this;
  }

  function autocannon(options: Options): Instance;
  export default autocannon;
}
