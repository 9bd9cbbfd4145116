'use strict';
/*
 * Capped retries: x-delivery-limit on a queue declared with x-queue-type
 * quorum, the x-delivery-count header on redeliveries, and what happens past
 * the limit (dead-lettered with reason delivery_limit, or dropped).
 */
const assert = require('node:assert/strict');
const h = require('./helpers');

/* Quorum queues must be durable, non-exclusive and not auto-delete. */
async function quorumQueue(ctx, ch, args = {}) {
    const q = ctx.q('quorum');
    await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'quorum', ...args } });
    return q;
}

async function tappedOpen(ctx) {
    const conn = await ctx.connect();
    const typed = h.tapContentHeaders(conn);
    const ch = await h.openChannel(conn);
    return { conn, ch, typed };
}

h.brokerTest('x-delivery-count: absent on the first consumer delivery, then a long counting 1, 2, 3', async (ctx) => {
    const { ch, typed } = await tappedOpen(ctx);
    const q = await quorumQueue(ctx, ch);
    ch.sendToQueue(q, Buffer.from('retry'), { headers: { mine: 'kept' } });
    const inbox = await h.consumeInto(ch, q);
    for (let attempt = 0; attempt <= 3; attempt++) {
        const m = await inbox.take();
        assert.equal(m.content.toString(), 'retry');
        assert.equal(m.fields.redelivered, attempt > 0);
        const headers = typed().at(-1).headers;
        assert.deepEqual(headers.mine, { type: 'S', value: 'kept' });
        if (attempt === 0) {
            assert.equal(headers['x-delivery-count'], undefined, 'no count on the first delivery');
        } else {
            assert.deepEqual(headers['x-delivery-count'], { type: 'l', value: attempt });
        }
        if (attempt < 3) ch.nack(m, false, true);
        else ch.ack(m);
    }
});

h.brokerTest('x-delivery-count on basic.get: 0 on the first get, then 1', async (ctx) => {
    const { ch, typed } = await tappedOpen(ctx);
    const q = await quorumQueue(ctx, ch);
    ch.sendToQueue(q, Buffer.from('got'));
    const m1 = await h.getWithin(ch, q);
    assert.deepEqual(typed().at(-1).headers['x-delivery-count'], { type: 'l', value: 0 });
    ch.reject(m1, true);
    const m2 = await h.getWithin(ch, q);
    assert.equal(m2.fields.redelivered, true);
    assert.deepEqual(typed().at(-1).headers['x-delivery-count'], { type: 'l', value: 1 });
    ch.ack(m2);
});

h.brokerTest('classic queue redeliveries carry no x-delivery-count', async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.q('classic');
    await ch.assertQueue(q, { durable: false });
    ch.sendToQueue(q, Buffer.from('c'));
    ch.nack(await h.getWithin(ch, q), false, true);
    const m = await h.getWithin(ch, q, { noAck: true });
    assert.equal(m.fields.redelivered, true);
    assert.deepEqual(m.properties.headers, {});
});

h.brokerTest('x-delivery-limit 2: three deliveries, then dead-lettered with reason delivery_limit', async (ctx) => {
    const { ch, typed } = await tappedOpen(ctx);
    const dlq = ctx.q('dlq');
    await ch.assertQueue(dlq, { durable: false });
    const q = await quorumQueue(ctx, ch, {
        'x-delivery-limit': 2, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq });
    ch.sendToQueue(q, Buffer.from('poison'), { headers: { mine: 'kept' }, messageId: 'p-1' });
    const inbox = await h.consumeInto(ch, q);
    for (let i = 0; i < 3; i++) ch.nack(await inbox.take(), false, true);
    await inbox.expectNone();
    const d = await h.getWithin(ch, dlq, { noAck: true });
    assert.equal(d.content.toString(), 'poison');
    assert.equal(d.properties.messageId, 'p-1');
    assert.equal(d.fields.exchange, '');
    assert.equal(d.fields.routingKey, dlq);
    const headers = typed().at(-1).headers;
    assert.equal(headers['x-delivery-count'], undefined, 'the dead-lettered copy has no delivery count');
    assert.deepEqual(headers.mine, { type: 'S', value: 'kept' });
    h.assertXDeath(headers, [
        { count: 1, reason: 'delivery_limit', queue: q, exchange: '', routingKeys: [q] },
    ], { reason: 'delivery_limit', queue: q, exchange: '' });
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
});

h.brokerTest('x-delivery-limit without a DLX: the message is dropped after the limit', async (ctx) => {
    const { ch } = await ctx.open();
    const q = await quorumQueue(ctx, ch, { 'x-delivery-limit': 1 });
    ch.sendToQueue(q, Buffer.from('dropped'));
    ch.sendToQueue(q, Buffer.from('fine'));
    const first = await h.getWithin(ch, q);
    assert.equal(first.content.toString(), 'dropped');
    ch.nack(first, false, true);
    const second = await h.getWithin(ch, q);
    assert.equal(second.content.toString(), 'dropped', 'a returned message comes back first');
    assert.equal(second.properties.headers['x-delivery-count'], 1);
    ch.nack(second, false, true);
    const next = await h.getWithin(ch, q);
    assert.equal(next.content.toString(), 'fine');
    ch.ack(next);
    assert.equal(await ch.get(q), false);
});

h.brokerTest('x-delivery-limit 0: the first requeue already dead-letters', async (ctx) => {
    const { ch } = await ctx.open();
    const dlq = ctx.q('dlq');
    await ch.assertQueue(dlq, { durable: false });
    const q = await quorumQueue(ctx, ch, {
        'x-delivery-limit': 0, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq });
    ch.sendToQueue(q, Buffer.from('once'));
    ch.reject(await h.getWithin(ch, q), true);
    const d = await h.getWithin(ch, dlq, { noAck: true });
    assert.equal(d.content.toString(), 'once');
    assert.equal(d.properties.headers['x-death'][0].reason, 'delivery_limit');
    assert.equal(await ch.get(q), false);
});

h.brokerTest('a delivery returned by closing its channel counts against x-delivery-limit', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const dlq = ctx.q('dlq');
    await ch.assertQueue(dlq, { durable: false });
    const q = await quorumQueue(ctx, ch, {
        'x-delivery-limit': 1, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq });
    ch.sendToQueue(q, Buffer.from('abandoned'));
    for (let i = 0; i < 2; i++) {
        const c = await h.openChannel(conn);
        const inbox = await h.consumeInto(c, q);
        const m = await inbox.take();
        assert.equal(m.fields.redelivered, i > 0);
        await c.close();
    }
    const d = await h.getWithin(ch, dlq, { noAck: true });
    assert.equal(d.content.toString(), 'abandoned');
    assert.equal(d.properties.headers['x-death'][0].reason, 'delivery_limit');
});

h.brokerTest('reject without requeue on a quorum queue dead-letters with reason rejected', async (ctx) => {
    const { ch, typed } = await tappedOpen(ctx);
    const dlq = ctx.q('dlq');
    await ch.assertQueue(dlq, { durable: false });
    const q = await quorumQueue(ctx, ch, {
        'x-delivery-limit': 5, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq });
    ch.sendToQueue(q, Buffer.from('no'));
    ch.reject(await h.getWithin(ch, q), false);
    await h.getWithin(ch, dlq, { noAck: true });
    h.assertXDeath(typed().at(-1).headers, [
        { count: 1, reason: 'rejected', queue: q, exchange: '', routingKeys: [q] },
    ], { reason: 'rejected', queue: q, exchange: '' });
});
