'use strict';
/*
 * Message TTL (x-message-ttl, the expiration property, the lower of the two)
 * and queue expiry (x-expires). Expiry is observed by polling with generous
 * deadlines: only that it happens is asserted, never how fast.
 */
const assert = require('node:assert/strict');
const h = require('./helpers');

const bodies = (msgs) => msgs.map((m) => m.content.toString());

/* A queue that dead-letters into a fresh queue `dlq`, so expiry is visible. */
async function queueWithDlq(ctx, ch, args) {
    const dlq = ctx.q('dlq');
    await ch.assertQueue(dlq, { durable: false });
    const q = ctx.q('ttl');
    await ch.assertQueue(q, { durable: false, arguments: {
        ...args, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq } });
    return { q, dlq };
}

/*
 * Poll for `queue` to be deleted. Every passive declare counts as use and
 * restarts x-expires, so the polls are spaced further apart than `expiresMs`.
 */
async function waitForExpiry(conn, queue, expiresMs, timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        await h.sleep(expiresMs + 200);
        const probe = await h.openChannel(conn);
        try {
            await probe.checkQueue(queue);
        } catch (err) {
            assert.equal(err.code, 404, err.message);
            assert.match(err.message, /"NOT_FOUND - no queue '/);
            return;
        }
        await probe.close();
        if (Date.now() > deadline) assert.fail(`queue ${queue} still exists after ${timeoutMs} ms`);
    }
}

h.brokerTest('x-message-ttl: expired messages leave the queue with no consumer (count 0, get empty)', async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.q('ttl');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': 100 } });
    for (let i = 0; i < 3; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await h.waitForCount(ch, q, 0);
    assert.equal(await ch.get(q), false);
    const ok = await ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': 100 } });
    assert.equal(ok.messageCount, 0, 'declare-ok message_count');
});

h.brokerTest('x-message-ttl: a delivered message does not expire while it is unacked', async (ctx) => {
    const { ch } = await ctx.open();
    const { q, dlq } = await queueWithDlq(ctx, ch, { 'x-message-ttl': 150 });
    /* a consumer is waiting, so delivery does not race the TTL */
    const inbox = await h.consumeInto(ch, q);
    ch.sendToQueue(q, Buffer.from('kept'));
    const m = await inbox.take();
    assert.equal(m.content.toString(), 'kept');
    assert.equal(m.properties.expiration, undefined, 'queue TTL sets no expiration property');
    await h.sleep(450);
    assert.equal((await ch.checkQueue(dlq)).messageCount, 0, 'an unacked message is not expired');
    ch.ack(m);
    await h.sleep(100);
    assert.equal((await ch.checkQueue(dlq)).messageCount, 0, 'acked after the TTL: gone for good');
});

h.brokerTest('x-message-ttl: a message requeued after its TTL passed expires (dead-lettered as expired)', async (ctx) => {
    const { ch } = await ctx.open();
    const { q, dlq } = await queueWithDlq(ctx, ch, { 'x-message-ttl': 100 });
    const inbox = await h.consumeInto(ch, q);
    ch.sendToQueue(q, Buffer.from('late'));
    const m = await inbox.take();
    await ch.cancel(inbox.consumerTag);
    await h.sleep(300);
    ch.nack(m, false, true);
    const dead = await h.getWithin(ch, dlq, { noAck: true });
    assert.equal(dead.content.toString(), 'late');
    assert.equal(dead.properties.headers['x-death'][0].reason, 'expired');
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
    assert.equal(await ch.get(q), false);
});

h.brokerTest('x-message-ttl 0: a waiting consumer still gets the message', async (ctx) => {
    const { ch } = await ctx.open();
    const { q, dlq } = await queueWithDlq(ctx, ch, { 'x-message-ttl': 0 });
    const inbox = await h.consumeInto(ch, q);
    ch.sendToQueue(q, Buffer.from('now'));
    const m = await inbox.take();
    assert.equal(m.content.toString(), 'now');
    ch.ack(m);
    await inbox.expectNone(200);
    assert.equal((await ch.checkQueue(dlq)).messageCount, 0);
});

h.brokerTest('x-message-ttl 0: with no consumer the message expires at once (dead-lettered)', async (ctx) => {
    const { ch } = await ctx.open();
    const { q, dlq } = await queueWithDlq(ctx, ch, { 'x-message-ttl': 0 });
    ch.sendToQueue(q, Buffer.from('nobody'));
    const dead = await h.getWithin(ch, dlq, { noAck: true });
    assert.equal(dead.content.toString(), 'nobody');
    assert.equal(dead.properties.headers['x-death'][0].reason, 'expired');
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
    assert.equal(await ch.get(q), false);
});

h.brokerTest('x-message-ttl 0: a consumer at its prefetch limit does not save the message', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const { q, dlq } = await queueWithDlq(ctx, ch, { 'x-message-ttl': 0 });
    const cch = await h.openChannel(conn);
    await cch.prefetch(1);
    const inbox = await h.consumeInto(cch, q);
    ch.sendToQueue(q, Buffer.from('p1'));
    ch.sendToQueue(q, Buffer.from('p2'));
    const first = await inbox.take();
    assert.equal(first.content.toString(), 'p1');
    const dead = await h.getWithin(ch, dlq, { noAck: true });
    assert.equal(dead.content.toString(), 'p2');
    cch.ack(first);
    await inbox.expectNone(200);
});

h.brokerTest('expiration property: expired messages leave the queue (count 0, get empty)', async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.q('exp');
    await ch.assertQueue(q, { durable: false });
    ch.sendToQueue(q, Buffer.from('a'), { expiration: '100' });
    ch.sendToQueue(q, Buffer.from('b'), { expiration: '50' });
    await h.waitForCount(ch, q, 0);
    assert.equal(await ch.get(q), false);
});

h.brokerTest('expiration property "0": a waiting consumer gets it, otherwise it expires', async (ctx) => {
    const { ch } = await ctx.open();
    const { q, dlq } = await queueWithDlq(ctx, ch, {});
    ch.sendToQueue(q, Buffer.from('unseen'), { expiration: '0' });
    const dead = await h.getWithin(ch, dlq, { noAck: true });
    assert.equal(dead.content.toString(), 'unseen');
    const inbox = await h.consumeInto(ch, q, { noAck: true });
    ch.sendToQueue(q, Buffer.from('seen'), { expiration: '0' });
    const m = await inbox.take();
    assert.equal(m.content.toString(), 'seen');
    assert.equal(m.properties.expiration, '0', 'the property is delivered as sent');
});

h.brokerTest('expiration property is delivered unchanged on a message that has not expired', async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.q('exp');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': 60000 } });
    ch.sendToQueue(q, Buffer.from('x'), { expiration: '600000' });
    const m = await h.getWithin(ch, q, { noAck: true });
    assert.equal(m.properties.expiration, '600000');
});

h.brokerTest('the lower of x-message-ttl and expiration applies (either way round)', async (ctx) => {
    const { ch } = await ctx.open();
    const a = await queueWithDlq(ctx, ch, { 'x-message-ttl': 100 });
    const b = await queueWithDlq(ctx, ch, { 'x-message-ttl': 600000 });
    ch.sendToQueue(a.q, Buffer.from('queue-ttl-lower'), { expiration: '600000' });
    ch.sendToQueue(b.q, Buffer.from('message-ttl-lower'), { expiration: '100' });
    const da = await h.getWithin(ch, a.dlq, { noAck: true });
    const db = await h.getWithin(ch, b.dlq, { noAck: true });
    assert.equal(da.content.toString(), 'queue-ttl-lower');
    assert.equal(db.content.toString(), 'message-ttl-lower');
    for (const d of [da, db]) assert.equal(d.properties.headers['x-death'][0].reason, 'expired');
    /* the original per-message value is kept in x-death either way */
    assert.equal(da.properties.headers['x-death'][0]['original-expiration'], '600000');
    assert.equal(db.properties.headers['x-death'][0]['original-expiration'], '100');
});

h.brokerTest('basic.get skips an expired message that sat behind an unexpired one', async (ctx) => {
    /*
     * RabbitMQ still counts such a message in message_count until it reaches
     * the head of the queue; that count is deliberately not asserted.
     */
    const { ch } = await ctx.open();
    const q = ctx.q('exp');
    await ch.assertQueue(q, { durable: false });
    ch.sendToQueue(q, Buffer.from('head'));
    ch.sendToQueue(q, Buffer.from('short'), { expiration: '50' });
    ch.sendToQueue(q, Buffer.from('tail'));
    await h.waitForCount(ch, q, 3);
    await h.sleep(300);
    assert.deepEqual(bodies(await h.drainQueue(ch, q)), ['head', 'tail']);
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
});

h.brokerTest('invalid expiration values are channel.close 406 PRECONDITION_FAILED on basic.publish', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q('exp');
    await ch.assertQueue(q, { durable: false });
    for (const bad of ['abc', '-1', '1.5', '', ' 100', '1e3', '315360000001', '99999999999999999999']) {
        const pch = await h.openChannel(conn);
        const res = await h.expectClose(conn, pch, async () => {
            pch.sendToQueue(q, Buffer.from('x'), { expiration: bad });
            await pch.checkQueue(q);
        });
        h.assertChannelClose(res, 406, `PRECONDITION_FAILED - invalid expiration '${bad}': `, 60, 40);
    }
    assert.equal((await ch.checkQueue(q)).messageCount, 0, 'nothing was enqueued');
    await h.assertConnectionUsable(conn);
});

h.brokerTest('expiration accepts leading zeros, a plus sign and the maximum 315360000000', async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.q('exp');
    await ch.assertQueue(q, { durable: false });
    ch.sendToQueue(q, Buffer.from('max'), { expiration: '315360000000' });
    ch.sendToQueue(q, Buffer.from('zeros'), { expiration: '000600000' });
    ch.sendToQueue(q, Buffer.from('plus'), { expiration: '+600000' });
    await h.waitForCount(ch, q, 3);
    const got = await h.drainQueue(ch, q);
    assert.deepEqual(got.map((m) => m.properties.expiration), ['315360000000', '000600000', '+600000']);
    assert.equal(ch.closed, false);
});

h.brokerTest('x-expires: an unused queue is deleted, messages and all', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q('expires');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 100 } });
    ch.sendToQueue(q, Buffer.from('does not keep it alive'));
    await waitForExpiry(conn, q, 100);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('x-expires: a queue with a consumer stays; it expires once the consumer cancels', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q('expires');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 100 } });
    const cch = await h.openChannel(conn);
    const inbox = await h.consumeInto(cch, q);
    await h.sleep(500);
    assert.equal((await ch.checkQueue(q)).consumerCount, 1, 'still there while consumed');
    await cch.cancel(inbox.consumerTag);
    await waitForExpiry(conn, q, 100);
});

h.brokerTest('x-expires: basic.get counts as use and keeps the queue alive', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q('expires');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 800 } });
    const until = Date.now() + 1600;
    while (Date.now() < until) {
        assert.equal(await ch.get(q), false);
        await h.sleep(50);
    }
    await waitForExpiry(conn, q, 800);
});
