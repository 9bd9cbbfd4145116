'use strict';
/*
 * Checklist F: consumers (tags, exclusivity, cancel, cancel notification,
 * round-robin, prefetch), basic.get, and every way of settling a delivery:
 * ack, nack, reject, recover, and requeue when a channel or connection ends.
 */
const assert = require('node:assert/strict');
const h = require('./helpers');

/* A queue with `n` messages "m0".."m{n-1}" already in it. */
async function filledQueue(ctx, ch, n, tag = 'q') {
    const q = ctx.q(tag);
    await ch.assertQueue(q, { durable: false });
    for (let i = 0; i < n; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await h.waitForCount(ch, q, n);
    return q;
}

const bodies = (msgs) => msgs.map((m) => m.content.toString());

h.brokerTest('server-generated consumer tag starts with amq.ctag-', async (ctx) => {
    const { ch } = await ctx.open();
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    const a = await ch.consume(q.queue, () => {});
    const b = await ch.consume(q.queue, () => {});
    assert.ok(a.consumerTag.startsWith('amq.ctag-'), a.consumerTag);
    assert.ok(b.consumerTag.startsWith('amq.ctag-'), b.consumerTag);
    assert.notEqual(a.consumerTag, b.consumerTag);
});

h.brokerTest('client-chosen consumer tag is echoed and carried on deliveries', async (ctx) => {
    const { ch } = await ctx.open();
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    const tag = h.uniqueName('ctag');
    const inbox = await h.consumeInto(ch, q.queue, { consumerTag: tag, noAck: true });
    assert.equal(inbox.consumerTag, tag);
    ch.sendToQueue(q.queue, Buffer.from('x'));
    const m = await inbox.take();
    assert.equal(m.fields.consumerTag, tag);
    assert.equal(m.fields.redelivered, false);
    assert.equal(m.fields.exchange, '');
    assert.equal(m.fields.routingKey, q.queue);
});

h.brokerTest('consuming from a missing queue is channel.close 404 NOT_FOUND', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const res = await h.expectClose(conn, ch, () => ch.consume(h.uniqueName('missing'), () => {}));
    h.assertChannelClose(res, 404, 'NOT_FOUND - ', 60, 20);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('no-ack consumer: deliveries are settled at once and never come back', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = await filledQueue(ctx, ch, 3);
    const cch = await h.openChannel(conn);
    const inbox = await h.consumeInto(cch, q, { noAck: true });
    assert.deepEqual(bodies(await inbox.takeN(3)), ['m0', 'm1', 'm2']);
    await cch.close();
    const ok = await ch.checkQueue(q);
    assert.equal(ok.messageCount, 0);
    assert.equal(await ch.get(q), false);
});

h.brokerTest('exclusive consumer blocks a second consumer with channel.close 403 ACCESS_REFUSED', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    await ch.consume(q, () => {}, { exclusive: true });
    const ch2 = await h.openChannel(conn);
    const res = await h.expectClose(conn, ch2, () => ch2.consume(q, () => {}));
    h.assertChannelClose(res, 403, 'ACCESS_REFUSED - ', 60, 20);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('exclusive consume on a queue that already has a consumer is channel.close 403', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    await ch.consume(q, () => {});
    const ch2 = await h.openChannel(conn);
    const res = await h.expectClose(conn, ch2, () => ch2.consume(q, () => {}, { exclusive: true }));
    h.assertChannelClose(res, 403, 'ACCESS_REFUSED - ', 60, 20);
});

h.brokerTest('after the exclusive consumer cancels, others may consume', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    const ex = await ch.consume(q, () => {}, { exclusive: true });
    await ch.cancel(ex.consumerTag);
    const ch2 = await h.openChannel(conn);
    const inbox = await h.consumeInto(ch2, q, { noAck: true });
    ch.sendToQueue(q, Buffer.from('free'));
    assert.equal((await inbox.take()).content.toString(), 'free');
});

h.brokerTest('reusing a consumer tag on one channel is connection.close 530 NOT_ALLOWED', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    const tag = h.uniqueName('dup-tag');
    await ch.consume(q.queue, () => {}, { consumerTag: tag });
    const res = await h.expectClose(conn, ch, () => ch.consume(q.queue, () => {}, { consumerTag: tag }));
    h.assertConnectionClose(res, 530, 'NOT_ALLOWED - ');
});

h.brokerTest('the same consumer tag on two different channels is allowed', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    const tag = h.uniqueName('shared-tag');
    await ch.consume(q.queue, () => {}, { consumerTag: tag });
    const ch2 = await h.openChannel(conn);
    const ok = await ch2.consume(q.queue, () => {}, { consumerTag: tag });
    assert.equal(ok.consumerTag, tag);
    assert.equal((await ch.checkQueue(q.queue)).consumerCount, 2);
});

h.brokerTest('basic.cancel stops delivery to that consumer', async (ctx) => {
    const { ch } = await ctx.open();
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    const inbox = await h.consumeInto(ch, q.queue, { noAck: true });
    ch.sendToQueue(q.queue, Buffer.from('before'));
    assert.equal((await inbox.take()).content.toString(), 'before');
    const ok = await ch.cancel(inbox.consumerTag);
    assert.equal(ok.consumerTag, inbox.consumerTag);
    ch.sendToQueue(q.queue, Buffer.from('after'));
    await inbox.expectNone();
    const m = await h.getWithin(ch, q.queue, { noAck: true });
    assert.equal(m.content.toString(), 'after');
});

h.brokerTest('cancelling an unknown consumer tag is answered with cancel-ok', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const tag = h.uniqueName('never-used');
    const ok = await ch.cancel(tag);
    assert.equal(ok.consumerTag, tag);
    assert.equal(ch.closed, false);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('deleting a queue sends basic.cancel to its consumers', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    const cch = await h.openChannel(conn);
    const inbox = await h.consumeInto(cch, q);
    const other = await ctx.connect();
    const och = await h.openChannel(other);
    await och.deleteQueue(q);
    const item = await inbox.take();
    assert.equal(item, null, 'amqplib hands a broker-sent cancel to the consumer as null');
    assert.equal(cch.closed, false);
    const q2 = await cch.assertQueue('', { exclusive: true, durable: false });
    assert.ok(q2.queue);
});

h.brokerTest('deliveries are spread round-robin across consumers', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    const c1 = await h.openChannel(conn);
    const c2 = await h.openChannel(conn);
    const a = await h.consumeInto(c1, q, { noAck: true });
    const b = await h.consumeInto(c2, q, { noAck: true });
    for (let i = 0; i < 10; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    const got = [...await a.takeN(5), ...await b.takeN(5)];
    await a.expectNone();
    await b.expectNone(50);
    assert.deepEqual(bodies(got).sort(), Array.from({ length: 10 }, (_, i) => `m${i}`).sort());
});

h.brokerTest('prefetch 2 per consumer (global=false): at most 2 unacked, ack releases the next', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = await filledQueue(ctx, ch, 5);
    const cch = await h.openChannel(conn);
    await cch.qos(2, false);
    const inbox = await h.consumeInto(cch, q);
    const first = await inbox.takeN(2);
    assert.deepEqual(bodies(first), ['m0', 'm1']);
    await inbox.expectNone();
    cch.ack(first[0]);
    assert.equal((await inbox.take()).content.toString(), 'm2');
    await inbox.expectNone();
    assert.equal((await ch.checkQueue(q)).messageCount, 2);
});

h.brokerTest('prefetch per consumer applies to each consumer separately', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = await filledQueue(ctx, ch, 6);
    const cch = await h.openChannel(conn);
    await cch.qos(1, false);
    const a = await h.consumeInto(cch, q);
    const b = await h.consumeInto(cch, q);
    await a.take();
    await b.take();
    await a.expectNone();
    await b.expectNone(50);
    assert.equal((await ch.checkQueue(q)).messageCount, 4);
});

h.brokerTest('prefetch 3 per channel (global=true) is shared by all consumers on the channel', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q1 = await filledQueue(ctx, ch, 5, 'q1');
    const q2 = await filledQueue(ctx, ch, 5, 'q2');
    const cch = await h.openChannel(conn);
    await cch.qos(3, true);
    const a = await h.consumeInto(cch, q1);
    const b = await h.consumeInto(cch, q2);
    const delivered = () => a.items.length + b.items.length;
    await h.waitUntil(() => delivered() >= 3);
    await h.sleep(h.SILENCE_MS);
    assert.equal(delivered(), 3, `channel-wide prefetch 3, got ${a.items.length} + ${b.items.length}`);
    cch.ack(a.items[0] || b.items[0]);
    await h.waitUntil(() => delivered() >= 4);
    await h.sleep(h.SILENCE_MS);
    assert.equal(delivered(), 4, 'one ack frees exactly one slot');
});

h.brokerTest('qos with prefetch_size != 0 is connection.close 540 NOT_IMPLEMENTED', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const res = await h.expectClose(conn, ch, () => ch.rpc(h.METHOD.basicQos,
        { prefetchSize: 4096, prefetchCount: 0, global: false }, h.METHOD.basicQosOk));
    h.assertConnectionClose(res, 540, 'NOT_IMPLEMENTED - ');
});

h.brokerTest('basic.get returns get-empty on an empty queue and message_count of what remains', async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    assert.equal(await ch.get(q), false);
    for (let i = 0; i < 3; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await h.waitForCount(ch, q, 3);
    const g1 = await ch.get(q, { noAck: true });
    assert.equal(g1.content.toString(), 'm0');
    assert.equal(g1.fields.messageCount, 2);
    assert.equal(g1.fields.redelivered, false);
    assert.equal(g1.fields.exchange, '');
    assert.equal(g1.fields.routingKey, q);
    const g2 = await ch.get(q, { noAck: true });
    assert.equal(g2.fields.messageCount, 1);
    const g3 = await ch.get(q, { noAck: true });
    assert.equal(g3.fields.messageCount, 0);
    assert.equal(await ch.get(q), false);
});

h.brokerTest('basic.get on a missing queue is channel.close 404', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const res = await h.expectClose(conn, ch, () => ch.get(h.uniqueName('missing')));
    h.assertChannelClose(res, 404, 'NOT_FOUND - ', 60, 70);
});

h.brokerTest('delivery tags start at 1 and count up per channel', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = await filledQueue(ctx, ch, 4);
    const a = await h.openChannel(conn);
    const b = await h.openChannel(conn);
    const ga = [await a.get(q), await a.get(q)];
    const gb = [await b.get(q), await b.get(q)];
    assert.deepEqual(ga.map((m) => m.fields.deliveryTag), [1, 2]);
    assert.deepEqual(gb.map((m) => m.fields.deliveryTag), [1, 2]);
    a.ack(ga[1], true);
    b.ack(gb[1], true);
    await h.waitForCount(ch, q, 0);
});

h.brokerTest('ack with multiple=true settles every delivery up to the tag', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = await filledQueue(ctx, ch, 4);
    const cch = await h.openChannel(conn);
    const inbox = await h.consumeInto(cch, q);
    const msgs = await inbox.takeN(4);
    cch.ack(msgs[2], true);
    await cch.close();
    /* only m3 was unacked, so only it returns */
    const m = await h.getWithin(ch, q, { noAck: true });
    assert.equal(m.content.toString(), 'm3');
    assert.equal(m.fields.redelivered, true);
    assert.equal(await ch.get(q), false);
});

h.brokerTest('ackAll (tag 0, multiple) settles every outstanding delivery', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = await filledQueue(ctx, ch, 3);
    const cch = await h.openChannel(conn);
    const inbox = await h.consumeInto(cch, q);
    await inbox.takeN(3);
    cch.ackAll();
    await cch.close();
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
});

h.brokerTest('nack multiple with requeue redelivers those messages with redelivered=true', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = await filledQueue(ctx, ch, 3);
    const cch = await h.openChannel(conn);
    const inbox = await h.consumeInto(cch, q);
    const msgs = await inbox.takeN(3);
    assert.ok(msgs.every((m) => m.fields.redelivered === false));
    cch.nack(msgs[1], true, true);
    const again = await inbox.takeN(2);
    assert.deepEqual(bodies(again).sort(), ['m0', 'm1']);
    assert.ok(again.every((m) => m.fields.redelivered === true));
    assert.ok(again.every((m) => m.fields.deliveryTag > 3), 'redeliveries get new tags');
    await inbox.expectNone();
});

h.brokerTest('reject with requeue redelivers the message with redelivered=true', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = await filledQueue(ctx, ch, 1);
    const cch = await h.openChannel(conn);
    const inbox = await h.consumeInto(cch, q);
    const m = await inbox.take();
    cch.reject(m, true);
    const again = await inbox.take();
    assert.equal(again.content.toString(), 'm0');
    assert.equal(again.fields.redelivered, true);
    cch.ack(again);
});

h.brokerTest('reject without requeue drops the message', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = await filledQueue(ctx, ch, 2);
    const cch = await h.openChannel(conn);
    const m = await h.getWithin(cch, q);
    cch.reject(m, false);
    await cch.close();
    const ok = await ch.checkQueue(q);
    assert.equal(ok.messageCount, 1);
    assert.equal((await ch.get(q, { noAck: true })).content.toString(), 'm1');
});

h.brokerTest('nack without requeue (multiple) drops the messages', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = await filledQueue(ctx, ch, 3);
    const cch = await h.openChannel(conn);
    const inbox = await h.consumeInto(cch, q);
    const msgs = await inbox.takeN(3);
    cch.nack(msgs[2], true, false);
    await inbox.expectNone();
    await cch.close();
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
});

h.brokerTest('ack of an unknown delivery tag is channel.close 406 PRECONDITION_FAILED', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const res = await h.expectClose(conn, ch, () => ch.ack({ fields: { deliveryTag: 42 } }));
    h.assertChannelClose(res, 406, 'PRECONDITION_FAILED - unknown delivery tag 42', 60, 80);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('acking the same delivery twice is channel.close 406', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = await filledQueue(ctx, ch, 1);
    const m = await h.getWithin(ch, q);
    ch.ack(m);
    const res = await h.expectClose(conn, ch, () => ch.ack(m));
    h.assertChannelClose(res, 406, 'PRECONDITION_FAILED - unknown delivery tag 1', 60, 80);
    const ch2 = await h.openChannel(conn);
    assert.equal((await ch2.checkQueue(q)).messageCount, 0, 'the first ack stood');
});

h.brokerTest('reject and nack of an unknown delivery tag are channel.close 406', async (ctx) => {
    const { conn } = await ctx.open();
    const a = await h.openChannel(conn);
    const ra = await h.expectClose(conn, a, () => a.reject({ fields: { deliveryTag: 7 } }, true));
    h.assertChannelClose(ra, 406, 'PRECONDITION_FAILED - ', 60, 90);
    const b = await h.openChannel(conn);
    const rb = await h.expectClose(conn, b, () => b.nack({ fields: { deliveryTag: 7 } }, false, true));
    h.assertChannelClose(rb, 406, 'PRECONDITION_FAILED - ', 60, 120);
});

h.brokerTest('a delivery tag from another channel is unknown on this one (406)', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = await filledQueue(ctx, ch, 1);
    const other = await h.openChannel(conn);
    const m = await h.getWithin(other, q);
    const res = await h.expectClose(conn, ch, () => ch.ack(m));
    h.assertChannelClose(res, 406, 'PRECONDITION_FAILED - ');
    other.ack(m);
});

h.brokerTest('basic.recover(requeue=true) redelivers unacked messages with redelivered=true', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = await filledQueue(ctx, ch, 2);
    const cch = await h.openChannel(conn);
    const inbox = await h.consumeInto(cch, q);
    const first = await inbox.takeN(2);
    cch.ack(first[0]);
    await cch.recover();
    const again = await inbox.take();
    assert.equal(again.content.toString(), 'm1');
    assert.equal(again.fields.redelivered, true);
    await inbox.expectNone();
});

h.brokerTest('basic.recover(requeue=false) is connection.close 540 NOT_IMPLEMENTED', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const res = await h.expectClose(conn, ch,
        () => ch.rpc(h.METHOD.basicRecover, { requeue: false }, h.METHOD.basicRecoverOk));
    h.assertConnectionClose(res, 540, 'NOT_IMPLEMENTED - ');
});

h.brokerTest('unacked messages return to the queue with redelivered=true when their channel closes', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = await filledQueue(ctx, ch, 3);
    const cch = await h.openChannel(conn);
    const inbox = await h.consumeInto(cch, q);
    const msgs = await inbox.takeN(3);
    cch.ack(msgs[0]);
    await cch.close();
    await h.waitForCount(ch, q, 2);
    const r1 = await ch.get(q, { noAck: true });
    const r2 = await ch.get(q, { noAck: true });
    assert.deepEqual([r1.content.toString(), r2.content.toString()], ['m1', 'm2']);
    assert.equal(r1.fields.redelivered, true);
    assert.equal(r2.fields.redelivered, true);
});

h.brokerTest('unacked messages return to the queue with redelivered=true when their connection closes', async (ctx) => {
    const { ch } = await ctx.open();
    const q = await filledQueue(ctx, ch, 2);
    const consumerConn = await h.connect();
    const cch = await h.openChannel(consumerConn);
    const inbox = await h.consumeInto(cch, q);
    await inbox.takeN(2);
    await consumerConn.close();
    await h.waitForCount(ch, q, 2);
    const r1 = await ch.get(q, { noAck: true });
    assert.equal(r1.content.toString(), 'm0');
    assert.equal(r1.fields.redelivered, true);
});

h.brokerTest('unacked basic.get messages also return when the channel closes', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = await filledQueue(ctx, ch, 1);
    const gch = await h.openChannel(conn);
    const m = await h.getWithin(gch, q);
    assert.equal(m.fields.redelivered, false);
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
    await gch.close();
    const back = await h.getWithin(ch, q, { noAck: true });
    assert.equal(back.content.toString(), 'm0');
    assert.equal(back.fields.redelivered, true);
});
