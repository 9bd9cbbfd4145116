'use strict';
/*
 * Priority queues (x-max-priority): higher message priority first, FIFO
 * within a priority, priorities above the maximum count as the maximum, and
 * the order stays right through prefetch, nack/requeue and channel close.
 * Invalid x-max-priority values are covered in queue-args.test.js.
 */
const assert = require('node:assert/strict');
const h = require('./helpers');

const bodies = (msgs) => msgs.map((m) => m.content.toString());

/* Declare `q` with `args` and publish [body, priority] pairs into it. */
async function fill(ch, q, args, pairs) {
    await ch.assertQueue(q, { durable: false, arguments: args });
    for (const [body, priority] of pairs) {
        ch.sendToQueue(q, Buffer.from(body), priority === undefined ? {} : { priority });
    }
    await h.waitForCount(ch, q, pairs.length);
}

h.brokerTest('priority queue: basic.get returns higher priority first, FIFO within a priority', async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.q('prio');
    await fill(ch, q, { 'x-max-priority': 10 }, [
        ['a1', 1], ['b5', 5], ['c1', 1], ['d9', 9], ['e5', 5], ['f9', 9], ['g10', 10],
    ]);
    const got = await h.drainQueue(ch, q);
    assert.deepEqual(bodies(got), ['g10', 'd9', 'f9', 'b5', 'e5', 'a1', 'c1']);
    assert.deepEqual(got.map((m) => m.properties.priority), [10, 9, 9, 5, 5, 1, 1]);
});

h.brokerTest('priority queue: a consumer attached to a backlog receives it in priority order', async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.q('prio');
    await fill(ch, q, { 'x-max-priority': 5 }, [['l0', 1], ['h0', 4], ['l1', 1], ['h1', 4], ['m0', 2]]);
    const inbox = await h.consumeInto(ch, q, { noAck: true });
    assert.deepEqual(bodies(await inbox.takeN(5)), ['h0', 'h1', 'm0', 'l0', 'l1']);
});

h.brokerTest('priority above x-max-priority counts as the max and the property arrives unchanged', async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.q('prio');
    await fill(ch, q, { 'x-max-priority': 5 }, [
        ['p3', 3], ['p5', 5], ['p9', 9], ['p255', 255], ['p5b', 5], ['p4', 4],
    ]);
    const got = await h.drainQueue(ch, q);
    assert.deepEqual(bodies(got), ['p5', 'p9', 'p255', 'p5b', 'p4', 'p3']);
    assert.deepEqual(got.map((m) => m.properties.priority), [5, 9, 255, 5, 4, 3]);
});

h.brokerTest('priority queue: a message without priority counts as priority 0', async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.q('prio');
    await fill(ch, q, { 'x-max-priority': 3 }, [['none1', undefined], ['zero', 0], ['one', 1], ['none2', undefined]]);
    const got = await h.drainQueue(ch, q);
    assert.deepEqual(bodies(got), ['one', 'none1', 'zero', 'none2']);
    assert.equal(got[1].properties.priority, undefined, 'no priority property is added');
});

h.brokerTest('a queue without x-max-priority ignores message priority (FIFO)', async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.q('plain');
    await fill(ch, q, {}, [['a', 1], ['b', 9], ['c', 0], ['d', 5]]);
    assert.deepEqual(bodies(await h.drainQueue(ch, q)), ['a', 'b', 'c', 'd']);
});

h.brokerTest('x-max-priority 0 is accepted and the queue stays FIFO', async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.q('prio0');
    await fill(ch, q, { 'x-max-priority': 0 }, [['a', 1], ['b', 9], ['c', undefined], ['d', 5]]);
    assert.deepEqual(bodies(await h.drainQueue(ch, q)), ['a', 'b', 'c', 'd']);
});

h.brokerTest('priority queue: message_count counts every priority', async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.q('prio');
    await fill(ch, q, { 'x-max-priority': 4 }, [['a', 0], ['b', 4], ['c', 200], ['d', undefined]]);
    const ok = await ch.checkQueue(q);
    assert.equal(ok.messageCount, 4);
    const m = await ch.get(q, { noAck: true });
    assert.equal(m.content.toString(), 'b');
    assert.equal(m.fields.messageCount, 3, 'get-ok message_count is what remains');
});

h.brokerTest('priority queue: nack/requeue puts messages back in priority order, redelivered', async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.q('prio');
    await fill(ch, q, { 'x-max-priority': 10 }, [
        ['lo1', 1], ['hi1', 8], ['lo2', 1], ['hi2', 8], ['mid', 5],
    ]);
    const first = [await ch.get(q), await ch.get(q), await ch.get(q)];
    assert.deepEqual(bodies(first), ['hi1', 'hi2', 'mid']);
    /* requeue in an order different from delivery: positions are restored */
    ch.nack(first[2], false, true);
    ch.nack(first[1], false, true);
    ch.nack(first[0], false, true);
    await h.waitForCount(ch, q, 5);
    const again = await h.drainQueue(ch, q);
    assert.deepEqual(bodies(again), ['hi1', 'hi2', 'mid', 'lo1', 'lo2']);
    assert.deepEqual(again.map((m) => m.fields.redelivered), [true, true, true, false, false]);
});

h.brokerTest('priority queue: a message requeued behind newer higher-priority ones waits its turn', async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.q('prio');
    await fill(ch, q, { 'x-max-priority': 10 }, [['low', 2]]);
    const held = await ch.get(q);
    assert.equal(held.content.toString(), 'low');
    ch.sendToQueue(q, Buffer.from('high'), { priority: 7 });
    ch.sendToQueue(q, Buffer.from('zero'), { priority: 0 });
    await h.waitForCount(ch, q, 2);
    ch.reject(held, true);
    await h.waitForCount(ch, q, 3);
    assert.deepEqual(bodies(await h.drainQueue(ch, q)), ['high', 'low', 'zero']);
});

h.brokerTest('priority queue: a consumer held by prefetch gets the highest waiting priority next', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q('prio');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-priority': 9 } });
    const cch = await h.openChannel(conn);
    await cch.prefetch(1);
    const inbox = await h.consumeInto(cch, q);
    ch.sendToQueue(q, Buffer.from('first'), { priority: 1 });
    const m1 = await inbox.take();
    /* while the consumer is full these queue up and get sorted */
    ch.sendToQueue(q, Buffer.from('low'), { priority: 1 });
    ch.sendToQueue(q, Buffer.from('mid'), { priority: 4 });
    ch.sendToQueue(q, Buffer.from('high'), { priority: 9 });
    await h.waitForCount(ch, q, 3);
    await inbox.expectNone(100);
    const order = [m1];
    for (let i = 0; i < 3; i++) {
        cch.ack(order[order.length - 1]);
        order.push(await inbox.take());
    }
    cch.ack(order[3]);
    assert.deepEqual(bodies(order), ['first', 'high', 'mid', 'low']);
});

h.brokerTest('priority queue: unacked messages return to their priority place when the channel closes', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q('prio');
    await fill(ch, q, { 'x-max-priority': 5 }, [['a3', 3], ['b5', 5], ['c1', 1], ['d3', 3]]);
    const cch = await h.openChannel(conn);
    const held = [await cch.get(q), await cch.get(q)];
    assert.deepEqual(bodies(held), ['b5', 'a3']);
    ch.sendToQueue(q, Buffer.from('e4'), { priority: 4 });
    await h.waitForCount(ch, q, 3);
    await cch.close();
    await h.waitForCount(ch, q, 5);
    const got = await h.drainQueue(ch, q);
    assert.deepEqual(bodies(got), ['b5', 'e4', 'a3', 'd3', 'c1']);
    assert.deepEqual(got.map((m) => m.fields.redelivered), [true, false, true, false, false]);
});
