import { describe, expect, it } from 'vitest';
import { checkUpstreamUrl } from '../../../core/upstream-url.js';

describe('checkUpstreamUrl', () => {
  it.each([
    ['http://Model-A.svc.cluster.local:8000/', 'http://model-a.svc.cluster.local:8000'],
    ['https://ray.example.test/apps/llama', 'https://ray.example.test/apps/llama'],
    ['http://10.0.0.7:8000', 'http://10.0.0.7:8000'],
    ['http://[fd00::7]:8000/', 'http://[fd00::7]:8000'],
  ])('accepts %s as %s', (input, normalised) => {
    expect(checkUpstreamUrl(input)).toEqual({ ok: true, url: normalised });
  });

  it.each([
    ['ftp://ray:21', 'http(s)://host'],
    ['file:///etc/passwd', 'http(s)://host'],
    ['http:///ray', 'http(s)://host'],
    ['http:\\\\ray', 'http(s)://host'],
    ['ray:8000', 'http(s)://host'],
    ['http://user:secret@ray:8000', 'credentials'],
    ['http://ray:8000/?x=1', 'query or fragment'],
    ['http://ray:8000/?', 'query or fragment'],
    ['http://ray:8000#top', 'query or fragment'],
    ['http://ray:8000/v1', 'without /v1'],
    ['http://ray:8000/app/V1/', 'without /v1'],
    ['http://ray :8000', 'spaces'],
  ])('refuses %s (%s)', (input, problem) => {
    const check = checkUpstreamUrl(input);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.problem).toContain(problem);
  });

  it('refuses a URL longer than 2048 characters', () => {
    expect(checkUpstreamUrl(`http://ray/${'a'.repeat(2048)}`)).toEqual({
      ok: false,
      problem: 'is longer than 2048 characters',
    });
  });
});
