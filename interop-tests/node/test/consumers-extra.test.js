'use strict';
/*
 * Consumer priorities (x-priority on basic.consume), single active consumer
 * (x-single-active-consumer on the queue) including failover when the
 * active consumer's connection or channel closes or it cancels, and
 * exclusive consume.
 */
const assert = require('node:assert/strict');
const h = require('./helpers');

const bodies = (msgs) => msgs.map((m) => m.content.toString());
const marked = (msgs) => msgs.map((m) => m.content.toString() + (m.fields.redelivered ? '*' : ''));

/* A new channel on `conn` with prefetch `n` (0 = unlimited). */
async function channelWithPrefetch(conn, n) {
    const ch = await h.openChannel(conn);
    if (n > 0) await ch.prefetch(n);
    return ch;
}

h.brokerTest('consumer priority: the higher-priority consumer gets messages while it has capacity', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q('cp');
    await ch.assertQueue(q, { durable: false });
    const low = await h.consumeInto(await channelWithPrefetch(conn, 100), q, { priority: 1 });
    const highCh = await channelWithPrefetch(conn, 2);
    const high = await h.consumeInto(highCh, q, { priority: 10 });
    for (let i = 0; i < 5; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    assert.deepEqual(bodies(await high.takeN(2)), ['m0', 'm1']);
    assert.deepEqual(bodies(await low.takeN(3)), ['m2', 'm3', 'm4']);
    await high.expectNone(100);
});

h.brokerTest('consumer priority: capacity freed on the high-priority consumer takes the next message', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q('cp');
    await ch.assertQueue(q, { durable: false });
    const highCh = await channelWithPrefetch(conn, 1);
    const high = await h.consumeInto(highCh, q, { arguments: { 'x-priority': 9 } });
    const low = await h.consumeInto(await channelWithPrefetch(conn, 1), q);
    for (let i = 0; i < 3; i++) ch.sendToQueue(q, Buffer.from(`q${i}`));
    const h0 = await high.take();
    assert.equal(h0.content.toString(), 'q0');
    assert.equal((await low.take()).content.toString(), 'q1');
    await h.waitForCount(ch, q, 1);
    highCh.ack(h0);
    assert.equal((await high.take()).content.toString(), 'q2');
    await low.expectNone(100);
});

h.brokerTest('consumer priority: equal priorities share round-robin, lower ones get nothing', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q('cp');
    await ch.assertQueue(q, { durable: false });
    const same = await h.openChannel(conn);
    const a = await h.consumeInto(same, q, { priority: 5 });
    const b = await h.consumeInto(same, q, { priority: 5 });
    const dflt = await h.consumeInto(await h.openChannel(conn), q);
    const negative = await h.consumeInto(await h.openChannel(conn), q, { priority: -3 });
    for (let i = 0; i < 4; i++) ch.sendToQueue(q, Buffer.from(`r${i}`));
    assert.deepEqual(bodies(await a.takeN(2)), ['r0', 'r2']);
    assert.deepEqual(bodies(await b.takeN(2)), ['r1', 'r3']);
    await dflt.expectNone(100);
    await negative.expectNone(0);
    /* with the priority-5 consumers gone, default 0 beats -3 */
    await same.close();
    assert.deepEqual(marked(await dflt.takeN(4)), ['r0*', 'r1*', 'r2*', 'r3*']);
    ch.sendToQueue(q, Buffer.from('next'));
    assert.equal((await dflt.take()).content.toString(), 'next');
    await negative.expectNone(100);
});

h.brokerTest('x-priority that is not an integer is channel.close 406 on basic.consume', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q('cp');
    await ch.assertQueue(q, { durable: false });
    for (const bad of ['high', 1.5, true]) {
        const c = await h.openChannel(conn);
        const res = await h.expectClose(conn, c, () => c.consume(q, () => {}, { arguments: { 'x-priority': bad } }));
        h.assertChannelClose(res, 406, `PRECONDITION_FAILED - invalid arg 'x-priority' for queue '${q}' in vhost '/': `, 60, 20);
    }
    /* any integer width and sign is fine */
    const c = await h.openChannel(conn);
    await c.consume(q, () => {}, { arguments: { 'x-priority': { '!': 'long', value: 2 ** 40 } } });
    await c.consume(q, () => {}, { arguments: { 'x-priority': -5 } });
    assert.equal((await ch.checkQueue(q)).consumerCount, 2);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('single active consumer: only the first registered consumer receives, all are counted', async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.q('sac');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-single-active-consumer': true } });
    const inboxes = [];
    for (let i = 0; i < 3; i++) {
        const c = await ctx.connect();
        inboxes.push(await h.consumeInto(await h.openChannel(c), q, { noAck: true }));
    }
    assert.equal((await ch.checkQueue(q)).consumerCount, 3);
    for (let i = 0; i < 4; i++) ch.sendToQueue(q, Buffer.from(`s${i}`));
    assert.deepEqual(bodies(await inboxes[0].takeN(4)), ['s0', 's1', 's2', 's3']);
    await inboxes[1].expectNone(100);
    await inboxes[2].expectNone(0);
});

h.brokerTest('single active consumer failover: the active connection closes, the next in registration order takes over with its unacked messages', async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.q('sac');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-single-active-consumer': true } });
    const conn1 = await ctx.connect();
    const c1 = await channelWithPrefetch(conn1, 2);
    const first = await h.consumeInto(c1, q);
    /* a higher priority does not make a later consumer the active one */
    const second = await h.consumeInto(await h.openChannel(await ctx.connect()), q, { priority: 10 });
    const third = await h.consumeInto(await h.openChannel(await ctx.connect()), q);
    for (let i = 0; i < 4; i++) ch.sendToQueue(q, Buffer.from(`s${i}`));
    assert.deepEqual(bodies(await first.takeN(2)), ['s0', 's1']);
    await h.waitForCount(ch, q, 2);
    await second.expectNone(100);

    await conn1.close();
    assert.deepEqual(marked(await second.takeN(4)), ['s0*', 's1*', 's2', 's3']);
    await third.expectNone(100);
    assert.equal((await ch.checkQueue(q)).consumerCount, 2);
});

h.brokerTest('single active consumer failover: closing the active channel hands over to a consumer on another channel', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q('sac');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-single-active-consumer': true } });
    const shared = await h.openChannel(conn);
    const a = await h.consumeInto(shared, q);
    const b = await h.consumeInto(shared, q);
    const other = await h.consumeInto(await h.openChannel(conn), q);
    for (let i = 0; i < 3; i++) ch.sendToQueue(q, Buffer.from(`x${i}`));
    assert.deepEqual(bodies(await a.takeN(3)), ['x0', 'x1', 'x2']);
    await b.expectNone(100);
    /* cancelling the active one activates the next on the same channel */
    await shared.cancel(a.consumerTag);
    ch.sendToQueue(q, Buffer.from('y'));
    assert.equal((await b.take()).content.toString(), 'y');
    await other.expectNone(100);
    /* closing that channel requeues everything it held to the remaining consumer */
    await shared.close();
    assert.deepEqual(marked(await other.takeN(4)), ['x0*', 'x1*', 'x2*', 'y*']);
});

h.brokerTest('single active consumer: after a cancel, messages the old consumer still holds go to the new one when nacked', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q('sac');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-single-active-consumer': true } });
    const c1 = await h.openChannel(conn);
    const first = await h.consumeInto(c1, q);
    const second = await h.consumeInto(await h.openChannel(conn), q);
    ch.sendToQueue(q, Buffer.from('held'));
    const held = await first.take();
    await c1.cancel(first.consumerTag);
    /* cancel does not requeue: the message stays with c1 until settled */
    ch.sendToQueue(q, Buffer.from('new'));
    assert.equal((await second.take()).content.toString(), 'new');
    await second.expectNone(100);
    c1.nack(held, false, true);
    const back = await second.take();
    assert.equal(back.content.toString(), 'held');
    assert.equal(back.fields.redelivered, true);
});

h.brokerTest('single active consumer: basic.get works while nobody consumes', async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.q('sac');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-single-active-consumer': true } });
    ch.sendToQueue(q, Buffer.from('g'));
    const m = await h.getWithin(ch, q, { noAck: true });
    assert.equal(m.content.toString(), 'g');
});

h.brokerTest('exclusive consume on a single-active-consumer queue that has a consumer is channel.close 403', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q('sac');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-single-active-consumer': true } });
    await ch.consume(q, () => {});
    const c = await h.openChannel(conn);
    const res = await h.expectClose(conn, c, () => c.consume(q, () => {}, { exclusive: true }));
    h.assertChannelClose(res, 403, `ACCESS_REFUSED - queue '${q}' in vhost '/' in exclusive use`, 60, 20);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('exclusive consumer blocks consumers from other connections; basic.get still works', async (ctx) => {
    const owner = await ctx.open();
    const q = ctx.q('excl');
    await owner.ch.assertQueue(q, { durable: false });
    await owner.ch.prefetch(1);
    const inbox = await h.consumeInto(owner.ch, q, { exclusive: true });
    const other = await ctx.open();
    const res = await h.expectClose(other.conn, other.ch, () => other.ch.consume(q, () => {}));
    h.assertChannelClose(res, 403, `ACCESS_REFUSED - queue '${q}' in vhost '/' in exclusive use`, 60, 20);
    await h.assertConnectionUsable(other.conn);
    /* the exclusive consumer holds one (prefetch 1); get may take the next */
    const pch = await h.openChannel(other.conn);
    pch.sendToQueue(q, Buffer.from('e1'));
    pch.sendToQueue(q, Buffer.from('e2'));
    assert.equal((await inbox.take()).content.toString(), 'e1');
    const got = await h.getWithin(pch, q, { noAck: true });
    assert.equal(got.content.toString(), 'e2');
});

h.brokerTest('when the exclusive consumer\'s connection closes, another connection may consume', async (ctx) => {
    const owner = await ctx.open();
    const q = ctx.q('excl');
    await owner.ch.assertQueue(q, { durable: false });
    await owner.ch.consume(q, () => {}, { exclusive: true });
    await owner.conn.close();
    const { ch } = await ctx.open();
    const inbox = await h.consumeInto(ch, q, { exclusive: true, noAck: true });
    ch.sendToQueue(q, Buffer.from('mine now'));
    assert.equal((await inbox.take()).content.toString(), 'mine now');
});
