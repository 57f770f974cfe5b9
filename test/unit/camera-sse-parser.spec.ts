import { strict as assert } from 'node:assert';
import { SseParser, type SseMessage } from '../../lib/camera/sse-client';

function parse(chunks: string[]): { messages: SseMessage[]; comments: string[]; retries: number[] } {
  const messages: SseMessage[] = [];
  const comments: string[] = [];
  const retries: number[] = [];
  const parser = new SseParser({
    onMessage: (m) => messages.push(m),
    onComment: (c) => comments.push(c),
    onRetry: (r) => retries.push(r),
  });
  for (const c of chunks) parser.push(c);
  return { messages, comments, retries };
}

describe('SSE parser', () => {
  it('dispatches typed events with multi-line data on a blank line, and reports comments', () => {
    const { messages, comments } = parse([
      ': connected\n\nevent: recording\ndata: {"a":1,\ndata:"b":2}\n\n: ping\n\n',
    ]);
    assert.deepEqual(messages, [{ event: 'recording', data: '{"a":1,\n"b":2}', lastEventId: '' }]);
    assert.deepEqual(comments, ['connected', 'ping']);
  });

  it('handles any chunking, CRLF / CR line ends split across chunks, and a leading BOM', () => {
    const text = '\ufeffevent: recording\r\ndata: one\r\n\r\ndata: two\r\rid: 7\ndata: three\n\n';
    const whole = parse([text]).messages;
    const bytewise = parse([...text]).messages;
    const crSplit = parse(['event: recording\r', '\ndata: one\r', '\n\r', '\n']).messages;
    assert.deepEqual(whole, [
      { event: 'recording', data: 'one', lastEventId: '' },
      { event: 'message', data: 'two', lastEventId: '' },
      { event: 'message', data: 'three', lastEventId: '7' },
    ]);
    assert.deepEqual(bytewise, whole);
    assert.deepEqual(crSplit, [whole[0]]);
  });

  it('ignores events without data, unknown fields and a trailing partial event; takes retry', () => {
    const { messages, retries } = parse([
      'event: recording\n\nfoo: bar\nretry: 2500\nretry: soon\ndata\n\ndata: partial',
    ]);
    assert.deepEqual(messages, [{ event: 'message', data: '', lastEventId: '' }]);
    assert.deepEqual(retries, [2500]);
  });

  it('refuses an event larger than its limit', () => {
    const parser = new SseParser({ onMessage: () => undefined }, 100);
    assert.throws(() => parser.push(`data: ${'x'.repeat(200)}\n`), /too large/);
    const parser2 = new SseParser({ onMessage: () => undefined }, 100);
    assert.throws(() => parser2.push('x'.repeat(200)), /too large/);
  });
});
