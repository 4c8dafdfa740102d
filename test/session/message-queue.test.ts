import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageQueue } from '../../src/session/message-queue.js';

test('hands messages to a waiting consumer, buffers up to the limit, then drops and counts', async () => {
  const q = new MessageQueue<number>(3);
  const waiting = q.next();
  assert.equal(q.push(1), true);
  assert.deepEqual(await waiting, { value: 1, done: false });
  for (let i = 2; i <= 6; i++) q.push(i);
  assert.equal(q.size, 3);
  assert.equal(q.dropped, 2);
  assert.deepEqual([(await q.next()).value, (await q.next()).value, (await q.next()).value], [2, 3, 4]);
});

test('end() finishes a waiting consumer and lets buffered messages drain first', async () => {
  let ended = 0;
  const q = new MessageQueue<string>(10, () => ended++);
  q.push('a');
  q.end();
  q.end();
  assert.equal(ended, 1);
  assert.equal(q.push('b'), false);
  assert.deepEqual(await q.next(), { value: 'a', done: false });
  assert.equal((await q.next()).done, true);
  const q2 = new MessageQueue<string>(10);
  const pending = q2.next();
  q2.end();
  assert.equal((await pending).done, true);
});

test('breaking out of for-await stops the subscription', async () => {
  let ended = 0;
  const q = new MessageQueue<number>(100, () => ended++);
  for (let i = 0; i < 5; i++) q.push(i);
  const seen: number[] = [];
  for await (const v of q) {
    seen.push(v);
    if (v === 2) break;
  }
  assert.deepEqual(seen, [0, 1, 2]);
  assert.equal(ended, 1);
  assert.equal(q.size, 0);
  assert.equal(q.push(9), false);
});

test('a long run through the queue keeps its storage compact and its order', async () => {
  const q = new MessageQueue<number>(5000);
  let next = 0;
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 3000; i++) q.push(round * 3000 + i);
    for (let i = 0; i < 3000; i++) assert.equal((await q.next()).value, next++);
  }
  assert.equal(q.size, 0);
});
