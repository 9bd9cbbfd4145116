'use strict';
/*
 * Checklist B: exchange declare/delete/bind, the reserved names (amq.* and
 * the default exchange), internal, alternate-exchange and auto-delete.
 */
const assert = require('node:assert/strict');
const h = require('./helpers');

h.brokerTest('declare direct, fanout, topic and headers exchanges; passive declare finds each', async (ctx) => {
    const { ch } = await ctx.open();
    for (const type of ['direct', 'fanout', 'topic', 'headers']) {
        const x = ctx.x(type);
        const ok = await ch.assertExchange(x, type, { durable: false });
        assert.equal(ok.exchange, x);
        await ch.checkExchange(x);
    }
});

h.brokerTest('redeclaring an exchange with identical attributes is accepted', async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.x();
    await ch.assertExchange(x, 'topic', { durable: false, autoDelete: false });
    await ch.assertExchange(x, 'topic', { durable: false, autoDelete: false });
    await ch.checkExchange(x);
});

h.brokerTest('passive declare of the standard amq.* exchanges succeeds', async (ctx) => {
    const { ch } = await ctx.open();
    for (const x of ['amq.direct', 'amq.fanout', 'amq.topic', 'amq.headers', 'amq.match']) {
        await ch.checkExchange(x);
    }
});

h.brokerTest('passive declare of a missing exchange is channel.close 404 NOT_FOUND', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const res = await h.expectClose(conn, ch, () => ch.checkExchange(h.uniqueName('missing')));
    h.assertChannelClose(res, 404, 'NOT_FOUND - ', 40, 10);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('redeclaring an exchange with a different type is channel.close 406', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const x = ctx.x();
    await ch.assertExchange(x, 'direct', { durable: false });
    const res = await h.expectClose(conn, ch, () => ch.assertExchange(x, 'fanout', { durable: false }));
    h.assertChannelClose(res, 406, 'PRECONDITION_FAILED - ', 40, 10);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('redeclaring an exchange with a different durable flag is channel.close 406', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const x = ctx.x();
    await ch.assertExchange(x, 'direct', { durable: false });
    const res = await h.expectClose(conn, ch, () => ch.assertExchange(x, 'direct', { durable: true }));
    h.assertChannelClose(res, 406, 'PRECONDITION_FAILED - ', 40, 10);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('redeclaring an exchange with a different auto-delete flag is channel.close 406', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const x = ctx.x();
    await ch.assertExchange(x, 'direct', { durable: false, autoDelete: false });
    const res = await h.expectClose(conn, ch,
        () => ch.assertExchange(x, 'direct', { durable: false, autoDelete: true }));
    h.assertChannelClose(res, 406, 'PRECONDITION_FAILED - ', 40, 10);
});

/* RabbitMQ 3.10 treats an unknown type as a connection error, not 406. */
h.brokerTest('declaring an unknown exchange type is connection.close 503 COMMAND_INVALID', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const x = ctx.x();
    const res = await h.expectClose(conn, ch, () => ch.assertExchange(x, 'no-such-type', { durable: false }));
    h.assertConnectionClose(res, 503, 'COMMAND_INVALID - ');
    const conn2 = await ctx.connect();
    const ch2 = await h.openChannel(conn2);
    const res2 = await h.expectClose(conn2, ch2, () => ch2.checkExchange(x));
    h.assertChannelClose(res2, 404, 'NOT_FOUND - ');
});

h.brokerTest('declaring an exchange named amq.* is channel.close 403 ACCESS_REFUSED', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const res = await h.expectClose(conn, ch, () => ch.assertExchange(`amq.${h.uniqueName('x')}`, 'direct'));
    h.assertChannelClose(res, 403, 'ACCESS_REFUSED - ', 40, 10);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('deleting amq.direct is channel.close 403 ACCESS_REFUSED and it survives', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const res = await h.expectClose(conn, ch, () => ch.deleteExchange('amq.direct'));
    h.assertChannelClose(res, 403, 'ACCESS_REFUSED - ', 40, 20);
    const ch2 = await h.openChannel(conn);
    await ch2.checkExchange('amq.direct');
});

h.brokerTest('declaring the default exchange "" is channel.close 403 ACCESS_REFUSED', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const res = await h.expectClose(conn, ch, () => ch.assertExchange('', 'direct'));
    h.assertChannelClose(res, 403, 'ACCESS_REFUSED - ', 40, 10);
});

h.brokerTest('deleting the default exchange "" is channel.close 403 ACCESS_REFUSED', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const res = await h.expectClose(conn, ch, () => ch.deleteExchange(''));
    h.assertChannelClose(res, 403, 'ACCESS_REFUSED - ', 40, 20);
});

h.brokerTest('binding a queue to the default exchange "" is channel.close 403 ACCESS_REFUSED', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    const res = await h.expectClose(conn, ch, () => ch.bindQueue(q.queue, '', 'key'));
    h.assertChannelClose(res, 403, 'ACCESS_REFUSED - ', 50, 20);
});

h.brokerTest('unbinding a queue from the default exchange "" is channel.close 403 ACCESS_REFUSED', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    const res = await h.expectClose(conn, ch, () => ch.unbindQueue(q.queue, '', q.queue));
    h.assertChannelClose(res, 403, 'ACCESS_REFUSED - ', 50, 50);
});

h.brokerTest('deleting a missing exchange succeeds', async (ctx) => {
    const { conn, ch } = await ctx.open();
    await ch.deleteExchange(h.uniqueName('missing'));
    assert.equal(ch.closed, false);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('deleted exchange is gone: passive declare afterwards is 404', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const x = ctx.x();
    await ch.assertExchange(x, 'fanout', { durable: false });
    await ch.deleteExchange(x);
    const res = await h.expectClose(conn, ch, () => ch.checkExchange(x));
    h.assertChannelClose(res, 404, 'NOT_FOUND - ');
});

h.brokerTest('delete if-unused of an exchange with a binding is channel.close 406; unbound it deletes', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const x = ctx.x();
    await ch.assertExchange(x, 'direct', { durable: false });
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    await ch.bindQueue(q.queue, x, 'k');
    const res = await h.expectClose(conn, ch, () => ch.deleteExchange(x, { ifUnused: true }));
    h.assertChannelClose(res, 406, 'PRECONDITION_FAILED - ', 40, 20);
    const ch2 = await h.openChannel(conn);
    await ch2.checkExchange(x);
    await ch2.unbindQueue(q.queue, x, 'k');
    await ch2.deleteExchange(x, { ifUnused: true });
    const res2 = await h.expectClose(conn, ch2, () => ch2.checkExchange(x));
    h.assertChannelClose(res2, 404, 'NOT_FOUND - ');
});

h.brokerTest('publishing to an internal exchange is channel.close 403 ACCESS_REFUSED', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const x = ctx.x();
    await ch.assertExchange(x, 'fanout', { durable: false, internal: true });
    const res = await h.expectClose(conn, ch, () => ch.publish(x, '', Buffer.from('nope')));
    h.assertChannelClose(res, 403, 'ACCESS_REFUSED - ', 60, 40);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('an internal exchange still routes what reaches it through an exchange binding', async (ctx) => {
    const { ch } = await ctx.open();
    const front = ctx.x('front');
    const inner = ctx.x('inner');
    await ch.assertExchange(front, 'fanout', { durable: false });
    await ch.assertExchange(inner, 'fanout', { durable: false, internal: true });
    await ch.bindExchange(inner, front, '');
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    await ch.bindQueue(q.queue, inner, '');
    const inbox = await h.consumeInto(ch, q.queue, { noAck: true });
    ch.publish(front, 'any', Buffer.from('via-front'));
    assert.equal((await inbox.take()).content.toString(), 'via-front');
});

h.brokerTest('exchange-to-exchange binding routes, and stops routing after unbind', async (ctx) => {
    const { ch } = await ctx.open();
    const src = ctx.x('src');
    const dst = ctx.x('dst');
    await ch.assertExchange(src, 'topic', { durable: false });
    await ch.assertExchange(dst, 'direct', { durable: false });
    await ch.bindExchange(dst, src, 'a.*');
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    await ch.bindQueue(q.queue, dst, 'a.b');
    const inbox = await h.consumeInto(ch, q.queue, { noAck: true });

    ch.publish(src, 'a.b', Buffer.from('one'));
    ch.publish(src, 'a.c', Buffer.from('not-for-q'));
    ch.publish(src, 'x.b', Buffer.from('not-for-dst'));
    assert.equal((await inbox.take()).content.toString(), 'one');
    await inbox.expectNone();

    await ch.unbindExchange(dst, src, 'a.*');
    ch.publish(src, 'a.b', Buffer.from('after-unbind'));
    await inbox.expectNone();
    ch.publish(dst, 'a.b', Buffer.from('direct-still-works'));
    assert.equal((await inbox.take()).content.toString(), 'direct-still-works');
});

h.brokerTest('binding an exchange to a missing source exchange is channel.close 404', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const dst = ctx.x();
    await ch.assertExchange(dst, 'fanout', { durable: false });
    const res = await h.expectClose(conn, ch, () => ch.bindExchange(dst, h.uniqueName('missing'), ''));
    h.assertChannelClose(res, 404, 'NOT_FOUND - ', 40, 30);
});

h.brokerTest('alternate-exchange receives messages the main exchange cannot route', async (ctx) => {
    const { ch } = await ctx.open();
    const ae = ctx.x('ae');
    const main = ctx.x('main');
    await ch.assertExchange(ae, 'fanout', { durable: false });
    await ch.assertExchange(main, 'direct', { durable: false, alternateExchange: ae });
    const routed = await ch.assertQueue('', { exclusive: true, durable: false });
    const spare = await ch.assertQueue('', { exclusive: true, durable: false });
    await ch.bindQueue(routed.queue, main, 'known');
    await ch.bindQueue(spare.queue, ae, '');
    const routedIn = await h.consumeInto(ch, routed.queue, { noAck: true });
    const spareIn = await h.consumeInto(ch, spare.queue, { noAck: true });
    const returns = new h.Inbox();
    ch.on('return', (m) => returns.push(m));

    ch.publish(main, 'known', Buffer.from('routed'));
    ch.publish(main, 'unknown', Buffer.from('unroutable'), { mandatory: true });
    assert.equal((await routedIn.take()).content.toString(), 'routed');
    const m = await spareIn.take();
    assert.equal(m.content.toString(), 'unroutable');
    assert.equal(m.fields.exchange, main, 'delivery names the exchange it was published to');
    assert.equal(m.fields.routingKey, 'unknown');
    await routedIn.expectNone();
    await spareIn.expectNone(50);
    await returns.expectNone(50);
});

h.brokerTest('auto-delete exchange is deleted when its last queue binding is removed', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const x = ctx.x();
    await ch.assertExchange(x, 'direct', { durable: false, autoDelete: true });
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    await ch.bindQueue(q.queue, x, 'a');
    await ch.bindQueue(q.queue, x, 'b');
    await ch.unbindQueue(q.queue, x, 'a');
    await ch.checkExchange(x);
    await ch.unbindQueue(q.queue, x, 'b');
    const res = await h.expectClose(conn, ch, () => ch.checkExchange(x));
    h.assertChannelClose(res, 404, 'NOT_FOUND - ');
});

h.brokerTest('auto-delete exchange is deleted when its only bound queue is deleted', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const x = ctx.x();
    await ch.assertExchange(x, 'fanout', { durable: false, autoDelete: true });
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    await ch.bindQueue(q.queue, x, '');
    await ch.deleteQueue(q.queue);
    const res = await h.expectClose(conn, ch, () => ch.checkExchange(x));
    h.assertChannelClose(res, 404, 'NOT_FOUND - ');
});

h.brokerTest('auto-delete exchange that never had a binding stays', async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.x();
    await ch.assertExchange(x, 'direct', { durable: false, autoDelete: true });
    await h.sleep(200);
    await ch.checkExchange(x);
});
