'use strict';
/*
 * Checklist C: queue declare (server-named, passive, counts, equivalence),
 * exclusivity, auto-delete, purge, delete with conditions, bind and unbind.
 */
const assert = require('node:assert/strict');
const h = require('./helpers');

h.brokerTest('server-named queue gets an amq.gen- name', async (ctx) => {
    const { ch } = await ctx.open();
    const a = await ch.assertQueue('', { exclusive: true, durable: false });
    const b = await ch.assertQueue('', { exclusive: true, durable: false });
    assert.ok(a.queue.startsWith('amq.gen-'), a.queue);
    assert.ok(b.queue.startsWith('amq.gen-'), b.queue);
    assert.notEqual(a.queue, b.queue);
    assert.equal(a.messageCount, 0);
    assert.equal(a.consumerCount, 0);
});

h.brokerTest('declare-ok echoes the client-chosen queue name', async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.q();
    const ok = await ch.assertQueue(q, { durable: false });
    assert.equal(ok.queue, q);
});

h.brokerTest('passive declare of a missing queue is channel.close 404 NOT_FOUND', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const res = await h.expectClose(conn, ch, () => ch.checkQueue(h.uniqueName('missing')));
    h.assertChannelClose(res, 404, 'NOT_FOUND - ', 50, 10);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('declare-ok message_count counts ready messages and consumer_count counts consumers', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    for (let i = 0; i < 3; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    const ok = await h.waitForCount(ch, q, 3);
    assert.equal(ok.consumerCount, 0);

    const ch2 = await h.openChannel(conn);
    const inbox = await h.consumeInto(ch2, q);
    await inbox.takeN(3);
    const again = await ch.assertQueue(q, { durable: false });
    assert.equal(again.messageCount, 0, 'unacked messages are not counted as ready');
    assert.equal(again.consumerCount, 1);
    const ch3 = await h.openChannel(conn);
    await ch3.consume(q, () => {});
    assert.equal((await ch.checkQueue(q)).consumerCount, 2);
});

for (const [what, action, cls, meth] of [
    ['declare', (ch, q) => ch.assertQueue(q, { exclusive: true, durable: false }), 50, 10],
    ['passive declare', (ch, q) => ch.checkQueue(q), 50, 10],
    ['consume', (ch, q) => ch.consume(q, () => {}), 60, 20],
    ['get', (ch, q) => ch.get(q), 60, 70],
    ['bind', (ch, q) => ch.bindQueue(q, 'amq.fanout', ''), 50, 20],
    ['unbind', (ch, q) => ch.unbindQueue(q, 'amq.direct', 'k'), 50, 50],
    ['purge', (ch, q) => ch.purgeQueue(q), 50, 30],
    ['delete', (ch, q) => ch.deleteQueue(q), 50, 40],
]) {
    h.brokerTest(`exclusive queue: ${what} from another connection is channel.close 405 RESOURCE_LOCKED`, async (ctx) => {
        const { ch } = await ctx.open();
        const q = ctx.q('excl');
        await ch.assertQueue(q, { exclusive: true, durable: false });
        await ch.bindQueue(q, 'amq.direct', 'k');
        const other = await ctx.connect();
        const och = await h.openChannel(other);
        const res = await h.expectClose(other, och, () => action(och, q));
        h.assertChannelClose(res, 405, 'RESOURCE_LOCKED - ', cls, meth);
        await h.assertConnectionUsable(other);
        /* the owner is unaffected */
        await ch.checkQueue(q);
    });
}

h.brokerTest('exclusive queue is usable from another channel of the owning connection', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q('excl');
    await ch.assertQueue(q, { exclusive: true, durable: false });
    const ch2 = await h.openChannel(conn);
    ch2.sendToQueue(q, Buffer.from('same-conn'));
    const m = await h.getWithin(ch2, q, { noAck: true });
    assert.equal(m.content.toString(), 'same-conn');
});

h.brokerTest('exclusive queue disappears when its connection closes', async (ctx) => {
    const owner = await h.connect();
    const och = await h.openChannel(owner);
    const q = ctx.q('excl');
    await och.assertQueue(q, { exclusive: true, durable: false });
    await owner.close();
    const conn = await ctx.connect();
    await h.waitForQueueGone(conn, q);
});

h.brokerTest('exclusive queue survives closing the channel that declared it', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q('excl');
    await ch.assertQueue(q, { exclusive: true, durable: false });
    await ch.close();
    const ch2 = await h.openChannel(conn);
    await ch2.checkQueue(q);
});

h.brokerTest('auto-delete queue is deleted when its last consumer cancels, not before', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q('ad');
    await ch.assertQueue(q, { autoDelete: true, durable: false });
    const a = await ch.consume(q, () => {});
    const b = await ch.consume(q, () => {});
    await ch.cancel(a.consumerTag);
    const mid = await ch.checkQueue(q);
    assert.equal(mid.consumerCount, 1);
    await ch.cancel(b.consumerTag);
    const ch2 = await h.openChannel(conn);
    const res = await h.expectClose(conn, ch2, () => ch2.checkQueue(q));
    h.assertChannelClose(res, 404, 'NOT_FOUND - ');
});

h.brokerTest('auto-delete queue is deleted when the consuming channel closes', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q('ad');
    await ch.assertQueue(q, { autoDelete: true, durable: false });
    const cch = await h.openChannel(conn);
    await cch.consume(q, () => {});
    await cch.close();
    const res = await h.expectClose(conn, ch, () => ch.checkQueue(q));
    h.assertChannelClose(res, 404, 'NOT_FOUND - ');
});

h.brokerTest('auto-delete queue that never had a consumer stays (basic.get is not a consumer)', async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.q('ad');
    await ch.assertQueue(q, { autoDelete: true, durable: false });
    ch.sendToQueue(q, Buffer.from('x'));
    await h.getWithin(ch, q, { noAck: true });
    await ch.checkQueue(q);
});

h.brokerTest('redeclaring a queue with a different durable flag is channel.close 406', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    const res = await h.expectClose(conn, ch, () => ch.assertQueue(q, { durable: true }));
    h.assertChannelClose(res, 406, 'PRECONDITION_FAILED - ', 50, 10);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('redeclaring a queue with different arguments is channel.close 406', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false, messageTtl: 60000 });
    await ch.assertQueue(q, { durable: false, messageTtl: 60000 });
    const res = await h.expectClose(conn, ch, () => ch.assertQueue(q, { durable: false, messageTtl: 30000 }));
    h.assertChannelClose(res, 406, 'PRECONDITION_FAILED - ', 50, 10);
});

h.brokerTest('redeclaring a queue with a different auto-delete flag is channel.close 406', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false, autoDelete: false });
    const res = await h.expectClose(conn, ch, () => ch.assertQueue(q, { durable: false, autoDelete: true }));
    h.assertChannelClose(res, 406, 'PRECONDITION_FAILED - ', 50, 10);
});

h.brokerTest('purge returns the number of messages removed and empties the queue', async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    for (let i = 0; i < 5; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await h.waitForCount(ch, q, 5);
    const ok = await ch.purgeQueue(q);
    assert.equal(ok.messageCount, 5);
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
    assert.equal(await ch.get(q), false);
});

h.brokerTest('purge does not remove unacked messages; they come back after the channel closes', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    for (let i = 0; i < 3; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await h.waitForCount(ch, q, 3);
    const cch = await h.openChannel(conn);
    await h.getWithin(cch, q);
    const ok = await ch.purgeQueue(q);
    assert.equal(ok.messageCount, 2);
    await cch.close();
    const m = await h.getWithin(ch, q, { noAck: true });
    assert.equal(m.content.toString(), 'm0');
    assert.equal(m.fields.redelivered, true);
});

h.brokerTest('delete returns the number of messages in the queue', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    for (let i = 0; i < 4; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await h.waitForCount(ch, q, 4);
    const ok = await ch.deleteQueue(q);
    assert.equal(ok.messageCount, 4);
    const res = await h.expectClose(conn, ch, () => ch.checkQueue(q));
    h.assertChannelClose(res, 404, 'NOT_FOUND - ');
});

h.brokerTest('deleting a missing queue succeeds with message_count 0', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const ok = await ch.deleteQueue(h.uniqueName('missing'));
    assert.equal(ok.messageCount, 0);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('delete if-unused of a queue with a consumer is channel.close 406', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    const cch = await h.openChannel(conn);
    const c = await cch.consume(q, () => {});
    const res = await h.expectClose(conn, ch, () => ch.deleteQueue(q, { ifUnused: true }));
    h.assertChannelClose(res, 406, 'PRECONDITION_FAILED - ', 50, 40);
    await cch.cancel(c.consumerTag);
    const ch2 = await h.openChannel(conn);
    await ch2.deleteQueue(q, { ifUnused: true });
});

h.brokerTest('delete if-empty of a queue with messages is channel.close 406', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    ch.sendToQueue(q, Buffer.from('x'));
    await h.waitForCount(ch, q, 1);
    const res = await h.expectClose(conn, ch, () => ch.deleteQueue(q, { ifEmpty: true }));
    h.assertChannelClose(res, 406, 'PRECONDITION_FAILED - ', 50, 40);
    const ch2 = await h.openChannel(conn);
    assert.equal((await ch2.checkQueue(q)).messageCount, 1);
    await ch2.purgeQueue(q);
    const ok = await ch2.deleteQueue(q, { ifEmpty: true });
    assert.equal(ok.messageCount, 0);
});

h.brokerTest('binding a missing queue is channel.close 404 NOT_FOUND', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const res = await h.expectClose(conn, ch, () => ch.bindQueue(h.uniqueName('missing'), 'amq.direct', 'k'));
    h.assertChannelClose(res, 404, 'NOT_FOUND - ', 50, 20);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('binding to a missing exchange is channel.close 404 NOT_FOUND', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    const res = await h.expectClose(conn, ch, () => ch.bindQueue(q.queue, h.uniqueName('missing'), 'k'));
    h.assertChannelClose(res, 404, 'NOT_FOUND - ', 50, 20);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('unbinding a binding that does not exist succeeds', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    await ch.unbindQueue(q.queue, 'amq.direct', h.uniqueName('never-bound'));
    await ch.unbindQueue(h.uniqueName('missing-q'), 'amq.direct', 'k');
    assert.equal(ch.closed, false);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('empty queue name means the last queue declared on the channel', async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.x();
    await ch.assertExchange(x, 'direct', { durable: false });
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    await ch.bindQueue('', x, 'k');
    ch.publish(x, 'k', Buffer.from('to-last'));
    const m = await h.getWithin(ch, '', { noAck: true });
    assert.equal(m.content.toString(), 'to-last');
    assert.equal(m.fields.routingKey, 'k');
    assert.equal((await ch.checkQueue(q.queue)).messageCount, 0);
});

h.brokerTest('empty queue name with no queue declared on the channel is channel.close 404', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const res = await h.expectClose(conn, ch, () => ch.get(''));
    h.assertChannelClose(res, 404, 'NOT_FOUND - ', 60, 70);
});
