'use strict';
/*
 * Queue length limits: x-max-length and x-max-length-bytes (body bytes only)
 * with each x-overflow mode, with and without publisher confirms. Only ready
 * messages count against a limit; unacked ones do not.
 */
const assert = require('node:assert/strict');
const h = require('./helpers');

const bodies = (msgs) => msgs.map((m) => m.content.toString());
const reasons = (msgs) => msgs.map((m) => m.properties.headers['x-death'][0].reason);

/* A limited queue `q` dead-lettering into `dlq`, plus a confirm channel. */
async function limited(ctx, args) {
    const { conn, ch } = await ctx.open();
    const cch = await h.openChannel(conn, { confirm: true });
    const dlq = ctx.q('dlq');
    await ch.assertQueue(dlq, { durable: false });
    const q = ctx.q('limited');
    await ch.assertQueue(q, { durable: false, arguments: {
        ...args, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq } });
    const publish = (body, options) => h.publishConfirmed(cch, '', q, body, options);
    return { conn, ch, cch, q, dlq, publish };
}

h.brokerTest('x-max-length drop-head (default): oldest messages are dropped, every publish is acked', async (ctx) => {
    const { ch, q, dlq, publish } = await limited(ctx, { 'x-max-length': 2 });
    const outcomes = await Promise.all(['m0', 'm1', 'm2', 'm3'].map((b) => publish(b)));
    assert.deepEqual(outcomes, ['ack', 'ack', 'ack', 'ack']);
    assert.equal((await ch.checkQueue(q)).messageCount, 2);
    assert.deepEqual(bodies(await h.drainQueue(ch, q)), ['m2', 'm3']);
    await h.waitForCount(ch, dlq, 2);
    const dead = await h.drainQueue(ch, dlq);
    assert.deepEqual(bodies(dead), ['m0', 'm1']);
    assert.deepEqual(reasons(dead), ['maxlen', 'maxlen']);
});

h.brokerTest('x-max-length drop-head without confirms keeps the newest messages', async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.q('limited');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': 3, 'x-overflow': 'drop-head' } });
    for (let i = 0; i < 6; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await ch.checkQueue(q);
    await h.waitForCount(ch, q, 3);
    assert.deepEqual(bodies(await h.drainQueue(ch, q)), ['m3', 'm4', 'm5']);
});

h.brokerTest('x-overflow reject-publish with confirms: publishes over the limit are nacked and dropped', async (ctx) => {
    const { ch, q, dlq, publish } = await limited(ctx, { 'x-max-length': 2, 'x-overflow': 'reject-publish' });
    const outcomes = await Promise.all(['m0', 'm1', 'm2', 'm3'].map((b) => publish(b)));
    assert.deepEqual(outcomes, ['ack', 'ack', 'nack', 'nack']);
    assert.deepEqual(bodies(await h.drainQueue(ch, q)), ['m0', 'm1']);
    await h.sleep(h.SILENCE_MS);
    assert.equal((await ch.checkQueue(dlq)).messageCount, 0, 'reject-publish does not dead-letter');
    /* room again: the next publish is accepted */
    assert.equal(await publish('m4'), 'ack');
});

h.brokerTest('x-overflow reject-publish without confirms drops silently and the channel stays open', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q('limited');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    ch.sendToQueue(q, Buffer.from('n0'));
    ch.sendToQueue(q, Buffer.from('n1'));
    ch.sendToQueue(q, Buffer.from('n2'));
    await h.waitForCount(ch, q, 1);
    await h.sleep(100);
    assert.deepEqual(bodies(await h.drainQueue(ch, q)), ['n0']);
    assert.equal(ch.closed, false);
    assert.equal(conn.closed, false);
});

h.brokerTest('x-overflow reject-publish-dlx with confirms: nacked and dead-lettered as maxlen', async (ctx) => {
    const { ch, q, dlq, publish } = await limited(ctx, { 'x-max-length': 2, 'x-overflow': 'reject-publish-dlx' });
    const outcomes = await Promise.all(['m0', 'm1', 'm2', 'm3'].map((b) => publish(b)));
    assert.deepEqual(outcomes, ['ack', 'ack', 'nack', 'nack']);
    assert.deepEqual(bodies(await h.drainQueue(ch, q)), ['m0', 'm1']);
    await h.waitForCount(ch, dlq, 2);
    const dead = await h.drainQueue(ch, dlq);
    assert.deepEqual(bodies(dead), ['m2', 'm3']);
    assert.deepEqual(reasons(dead), ['maxlen', 'maxlen']);
});

h.brokerTest('x-overflow reject-publish-dlx without confirms still dead-letters the rejected message', async (ctx) => {
    const { ch, q, dlq } = await limited(ctx, { 'x-max-length': 1, 'x-overflow': 'reject-publish-dlx' });
    ch.sendToQueue(q, Buffer.from('kept'));
    ch.sendToQueue(q, Buffer.from('refused'));
    const dead = await h.getWithin(ch, dlq, { noAck: true });
    assert.equal(dead.content.toString(), 'refused');
    assert.equal(dead.properties.headers['x-death'][0].reason, 'maxlen');
    assert.deepEqual(bodies(await h.drainQueue(ch, q)), ['kept']);
});

h.brokerTest('x-max-length-bytes drop-head counts body bytes only, not headers', async (ctx) => {
    const { ch, q, publish } = await limited(ctx, { 'x-max-length-bytes': 10 });
    const outcomes = [
        await publish('aaaa', { headers: { big: 'x'.repeat(500) } }),
        await publish('bbbb'),
        await publish('cc'),
    ];
    assert.deepEqual(outcomes, ['ack', 'ack', 'ack']);
    assert.equal((await ch.checkQueue(q)).messageCount, 3, '4+4+2 body bytes fit in 10');
    assert.equal(await publish('d'), 'ack');
    assert.equal(await publish(''), 'ack');
    assert.deepEqual(bodies(await h.drainQueue(ch, q)), ['bbbb', 'cc', 'd', '']);
});

h.brokerTest('x-max-length-bytes reject-publish: filling exactly is fine, one byte more is nacked', async (ctx) => {
    const { ch, q, publish } = await limited(ctx, { 'x-max-length-bytes': 10, 'x-overflow': 'reject-publish' });
    assert.equal(await publish('aaaa'), 'ack');
    assert.equal(await publish('bbbb'), 'ack');
    assert.equal(await publish('cc'), 'ack');
    assert.equal(await publish('d'), 'nack', '11 bytes would exceed 10');
    assert.equal(await publish(''), 'ack', 'an empty body adds no bytes');
    assert.deepEqual(bodies(await h.drainQueue(ch, q)), ['aaaa', 'bbbb', 'cc', '']);
});

h.brokerTest('a body larger than x-max-length-bytes: drop-head accepts then drops it, reject-publish nacks', async (ctx) => {
    const dropHead = await limited(ctx, { 'x-max-length-bytes': 3 });
    assert.equal(await dropHead.publish('toolong'), 'ack');
    const dead = await h.getWithin(dropHead.ch, dropHead.dlq, { noAck: true });
    assert.equal(dead.content.toString(), 'toolong');
    assert.equal(dead.properties.headers['x-death'][0].reason, 'maxlen');
    assert.equal((await dropHead.ch.checkQueue(dropHead.q)).messageCount, 0);

    const reject = await limited(ctx, { 'x-max-length-bytes': 3, 'x-overflow': 'reject-publish' });
    assert.equal(await reject.publish('toolong'), 'nack');
    assert.equal((await reject.ch.checkQueue(reject.q)).messageCount, 0);
});

h.brokerTest('x-max-length counts ready messages only: unacked ones leave room', async (ctx) => {
    const { ch, q, publish } = await limited(ctx, { 'x-max-length': 1, 'x-overflow': 'reject-publish' });
    assert.equal(await publish('a'), 'ack');
    const held = await ch.get(q);
    assert.equal(held.content.toString(), 'a');
    assert.equal(await publish('b'), 'ack', 'the unacked message does not count');
    assert.equal(await publish('c'), 'nack');
    /* requeueing may take the queue over its limit under reject-publish */
    ch.nack(held, false, true);
    await h.waitForCount(ch, q, 2);
    assert.deepEqual(bodies(await h.drainQueue(ch, q)), ['a', 'b']);
});

h.brokerTest('x-max-length drop-head: a requeue over the limit drops from the head', async (ctx) => {
    const { ch, q, dlq, publish } = await limited(ctx, { 'x-max-length': 1 });
    assert.equal(await publish('a'), 'ack');
    const held = await ch.get(q);
    assert.equal(await publish('b'), 'ack');
    assert.equal(await publish('c'), 'ack');
    assert.deepEqual(bodies([await h.getWithin(ch, dlq, { noAck: true })]), ['b']);
    /* 'a' goes back to the head, the queue is over its limit, the head goes */
    ch.nack(held, false, true);
    const dead = await h.getWithin(ch, dlq, { noAck: true });
    assert.equal(dead.content.toString(), 'a');
    assert.equal(dead.properties.headers['x-death'][0].reason, 'maxlen');
    assert.deepEqual(bodies(await h.drainQueue(ch, q)), ['c']);
});

h.brokerTest('x-max-length 0: drop-head hands the message to a waiting consumer, reject-publish nacks it', async (ctx) => {
    const dropHead = await limited(ctx, { 'x-max-length': 0 });
    const inbox = await h.consumeInto(dropHead.ch, dropHead.q, { noAck: true });
    assert.equal(await dropHead.publish('direct'), 'ack');
    assert.equal((await inbox.take()).content.toString(), 'direct');
    await dropHead.ch.cancel(inbox.consumerTag);
    assert.equal(await dropHead.publish('nobody'), 'ack');
    const dead = await h.getWithin(dropHead.ch, dropHead.dlq, { noAck: true });
    assert.equal(dead.content.toString(), 'nobody');

    const reject = await limited(ctx, { 'x-max-length': 0, 'x-overflow': 'reject-publish' });
    const rInbox = await h.consumeInto(reject.ch, reject.q, { noAck: true });
    assert.equal(await reject.publish('refused'), 'nack', 'even with a consumer waiting');
    await rInbox.expectNone(200);
});

h.brokerTest('a message routed to a full reject-publish queue and another queue is nacked but still delivered there', async (ctx) => {
    const { ch, cch, q: full, publish } = await limited(ctx, { 'x-max-length': 0, 'x-overflow': 'reject-publish' });
    const other = ctx.q('other');
    await ch.assertQueue(other, { durable: false });
    const x = ctx.x('fan');
    await ch.assertExchange(x, 'fanout', { durable: false });
    await ch.bindQueue(full, x, '');
    await ch.bindQueue(other, x, '');
    assert.equal(await h.publishConfirmed(cch, x, '', 'both'), 'nack');
    assert.deepEqual(bodies(await h.drainQueue(ch, other)), ['both']);
    assert.equal((await ch.checkQueue(full)).messageCount, 0);
    assert.equal(await publish('direct'), 'nack');
});
