'use strict';
/*
 * Dead-letter exchanges: each reason (rejected, expired, maxlen; quorum
 * delivery_limit is in delivery-limit.test.js), the x-death header compared
 * field by field with its wire types, x-first-death-*, the dead-letter
 * routing key, repeated deaths, RabbitMQ's cycle rules, and a missing DLX.
 */
const assert = require('node:assert/strict');
const h = require('./helpers');

const bodies = (msgs) => msgs.map((m) => m.content.toString());

/*
 * A connection whose received content headers are recorded with wire types,
 * and a channel on it. `typed()` gives the typed properties of every
 * delivery so far, in order.
 */
async function tappedOpen(ctx) {
    const conn = await ctx.connect();
    const typed = h.tapContentHeaders(conn);
    const ch = await h.openChannel(conn);
    return { conn, ch, typed };
}

/* `dlq` bound to a fresh fanout DLX, and `q` dead-lettering into it. */
async function dlxPair(ctx, ch, args = {}) {
    const dlx = ctx.x('dlx');
    await ch.assertExchange(dlx, 'fanout', { durable: false });
    const dlq = ctx.q('dlq');
    await ch.assertQueue(dlq, { durable: false });
    await ch.bindQueue(dlq, dlx, '');
    const q = ctx.q('src');
    await ch.assertQueue(q, { durable: false, arguments: { ...args, 'x-dead-letter-exchange': dlx } });
    return { dlx, dlq, q };
}

h.brokerTest('rejected: x-death layout, types and x-first-death-*; properties and body kept, expiration moved', async (ctx) => {
    const { ch, typed } = await tappedOpen(ctx);
    const { dlx, dlq, q } = await dlxPair(ctx, ch);
    const props = {
        contentType: 'text/plain', contentEncoding: 'identity', deliveryMode: 2, priority: 3,
        correlationId: 'corr-1', replyTo: 'reply-here', expiration: '600000', messageId: 'msg-1',
        timestamp: 1700000000, type: 'kind', appId: 'app', headers: { keep: 'me', n: 7 },
    };
    ch.sendToQueue(q, Buffer.from('body-rejected'), props);
    const m = await h.getWithin(ch, q);
    ch.reject(m, false);
    const d = await h.getWithin(ch, dlq);
    ch.ack(d);

    assert.equal(d.content.toString(), 'body-rejected');
    assert.equal(d.fields.exchange, dlx, 'delivered from the dead-letter exchange');
    assert.equal(d.fields.routingKey, q, 'with the original routing key');
    assert.equal(d.fields.redelivered, false);
    const { headers, expiration, ...rest } = d.properties;
    assert.equal(expiration, undefined, 'the expiration property is removed');
    const { headers: _sentHeaders, expiration: _sentExpiration, ...sentRest } = props;
    for (const [k, v] of Object.entries(sentRest)) assert.equal(rest[k], v, `property ${k} kept`);
    assert.equal(headers.keep, 'me');
    assert.equal(headers.n, 7);

    const t = typed().at(-1);
    assert.equal(t.expiration, undefined);
    assert.deepEqual(Object.keys(t.headers).sort(), ['keep', 'n', 'x-death', 'x-first-death-exchange',
        'x-first-death-queue', 'x-first-death-reason']);
    assert.deepEqual(t.headers.n, { type: 'b', value: 7 }, 'user headers keep their wire type');
    h.assertXDeath(t.headers, [
        { count: 1, reason: 'rejected', queue: q, exchange: '', routingKeys: [q], originalExpiration: '600000' },
    ], { reason: 'rejected', queue: q, exchange: '' });
});

h.brokerTest('rejected via nack(multiple, requeue=false): every message is dead-lettered in order', async (ctx) => {
    const { ch } = await ctx.open();
    const { dlq, q } = await dlxPair(ctx, ch);
    for (let i = 0; i < 3; i++) ch.sendToQueue(q, Buffer.from(`n${i}`));
    const inbox = await h.consumeInto(ch, q);
    const got = await inbox.takeN(3);
    ch.nack(got[2], true, false);
    await h.waitForCount(ch, dlq, 3);
    const dead = await h.drainQueue(ch, dlq);
    assert.deepEqual(bodies(dead), ['n0', 'n1', 'n2']);
    for (const d of dead) assert.equal(d.properties.headers['x-death'][0].reason, 'rejected');
});

h.brokerTest('reject or nack with requeue=true does not dead-letter', async (ctx) => {
    const { ch } = await ctx.open();
    const { dlq, q } = await dlxPair(ctx, ch);
    ch.sendToQueue(q, Buffer.from('again'));
    ch.reject(await h.getWithin(ch, q), true);
    ch.nack(await h.getWithin(ch, q), false, true);
    const m = await h.getWithin(ch, q, { noAck: true });
    assert.equal(m.fields.redelivered, true);
    assert.equal(m.properties.headers['x-death'], undefined);
    await h.sleep(200);
    assert.equal((await ch.checkQueue(dlq)).messageCount, 0);
});

h.brokerTest('expired by x-message-ttl: reason expired, no original-expiration', async (ctx) => {
    const { ch, typed } = await tappedOpen(ctx);
    const { dlq, q } = await dlxPair(ctx, ch, { 'x-message-ttl': 50 });
    ch.sendToQueue(q, Buffer.from('old'), { headers: { h: 'v' } });
    const d = await h.getWithin(ch, dlq, { noAck: true });
    assert.equal(d.content.toString(), 'old');
    assert.equal(d.properties.headers.h, 'v');
    h.assertXDeath(typed().at(-1).headers, [
        { count: 1, reason: 'expired', queue: q, exchange: '', routingKeys: [q] },
    ], { reason: 'expired', queue: q, exchange: '' });
});

h.brokerTest('expired by the expiration property: original-expiration recorded, property removed', async (ctx) => {
    const { ch, typed } = await tappedOpen(ctx);
    const { dlq, q } = await dlxPair(ctx, ch);
    ch.sendToQueue(q, Buffer.from('short-lived'), { expiration: '60' });
    const d = await h.getWithin(ch, dlq, { noAck: true });
    assert.equal(d.properties.expiration, undefined);
    const t = typed().at(-1);
    assert.equal(t.expiration, undefined);
    h.assertXDeath(t.headers, [
        { count: 1, reason: 'expired', queue: q, exchange: '', routingKeys: [q], originalExpiration: '60' },
    ], { reason: 'expired', queue: q, exchange: '' });
});

h.brokerTest('maxlen: a message dropped from the head is dead-lettered with reason maxlen', async (ctx) => {
    const { ch, typed } = await tappedOpen(ctx);
    const { dlq, q } = await dlxPair(ctx, ch, { 'x-max-length': 1 });
    ch.sendToQueue(q, Buffer.from('first'));
    ch.sendToQueue(q, Buffer.from('second'));
    const d = await h.getWithin(ch, dlq, { noAck: true });
    assert.equal(d.content.toString(), 'first');
    h.assertXDeath(typed().at(-1).headers, [
        { count: 1, reason: 'maxlen', queue: q, exchange: '', routingKeys: [q] },
    ], { reason: 'maxlen', queue: q, exchange: '' });
    assert.deepEqual(bodies(await h.drainQueue(ch, q)), ['second']);
});

h.brokerTest('x-dead-letter-routing-key replaces the routing key and drops CC; x-death keeps the original keys incl. CC, never BCC', async (ctx) => {
    const { ch, typed } = await tappedOpen(ctx);
    const dlx = ctx.x('dlx');
    await ch.assertExchange(dlx, 'direct', { durable: false });
    const dlq = ctx.q('dlq');
    await ch.assertQueue(dlq, { durable: false });
    await ch.bindQueue(dlq, dlx, 'dead-key');
    const src = ctx.x('src');
    await ch.assertExchange(src, 'direct', { durable: false });
    const q = ctx.q('src');
    await ch.assertQueue(q, { durable: false, arguments: {
        'x-dead-letter-exchange': dlx, 'x-dead-letter-routing-key': 'dead-key' } });
    await ch.bindQueue(q, src, 'live-key');
    ch.publish(src, 'live-key', Buffer.from('routed'), { headers: { CC: ['cc-key'], BCC: ['bcc-key'] } });
    ch.reject(await h.getWithin(ch, q), false);
    const d = await h.getWithin(ch, dlq, { noAck: true });
    assert.equal(d.fields.exchange, dlx);
    assert.equal(d.fields.routingKey, 'dead-key');
    assert.equal(d.properties.headers.CC, undefined, 'CC is removed when the routing key is replaced');
    assert.equal(d.properties.headers.BCC, undefined);
    h.assertXDeath(typed().at(-1).headers, [
        { count: 1, reason: 'rejected', queue: q, exchange: src, routingKeys: ['live-key', 'cc-key'] },
    ], { reason: 'rejected', queue: q, exchange: src });
});

h.brokerTest('without x-dead-letter-routing-key the DLX routes on the original key and the CC keys, CC kept', async (ctx) => {
    const { ch } = await ctx.open();
    const dlx = ctx.x('dlx');
    await ch.assertExchange(dlx, 'direct', { durable: false });
    const byKey = ctx.q('bykey');
    const byCc = ctx.q('bycc');
    for (const [queue, key] of [[byKey, 'live-key'], [byCc, 'cc-key']]) {
        await ch.assertQueue(queue, { durable: false });
        await ch.bindQueue(queue, dlx, key);
    }
    const src = ctx.x('src');
    await ch.assertExchange(src, 'direct', { durable: false });
    const q = ctx.q('src');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-dead-letter-exchange': dlx } });
    await ch.bindQueue(q, src, 'live-key');
    ch.publish(src, 'live-key', Buffer.from('copied'), { headers: { CC: ['cc-key'], BCC: ['bcc-key'] } });
    ch.reject(await h.getWithin(ch, q), false);
    for (const queue of [byKey, byCc]) {
        const d = await h.getWithin(ch, queue, { noAck: true });
        assert.equal(d.content.toString(), 'copied');
        assert.equal(d.fields.routingKey, 'live-key');
        assert.deepEqual(d.properties.headers.CC, ['cc-key']);
        assert.equal(d.properties.headers.BCC, undefined);
        assert.deepEqual(d.properties.headers['x-death'][0]['routing-keys'], ['live-key', 'cc-key']);
    }
});

h.brokerTest('the default exchange as DLX routes by x-dead-letter-routing-key', async (ctx) => {
    const { ch } = await ctx.open();
    const dlq = ctx.q('dlq');
    await ch.assertQueue(dlq, { durable: false });
    const q = ctx.q('src');
    await ch.assertQueue(q, { durable: false, arguments: {
        'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq } });
    ch.sendToQueue(q, Buffer.from('to-default'));
    ch.reject(await h.getWithin(ch, q), false);
    const d = await h.getWithin(ch, dlq, { noAck: true });
    assert.equal(d.content.toString(), 'to-default');
    assert.equal(d.fields.exchange, '');
    assert.equal(d.fields.routingKey, dlq);
});

h.brokerTest('a missing DLX drops the message silently; an unroutable one too', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const missing = ctx.q('missing');
    await ch.assertQueue(missing, { durable: false, arguments: { 'x-dead-letter-exchange': h.uniqueName('nox') } });
    const dlx = ctx.x('dlx');
    await ch.assertExchange(dlx, 'direct', { durable: false });
    const unroutable = ctx.q('unroutable');
    await ch.assertQueue(unroutable, { durable: false, arguments: { 'x-dead-letter-exchange': dlx } });
    for (const q of [missing, unroutable]) {
        ch.sendToQueue(q, Buffer.from('doomed'));
        ch.reject(await h.getWithin(ch, q), false);
    }
    await h.sleep(200);
    for (const q of [missing, unroutable]) {
        assert.equal((await ch.checkQueue(q)).messageCount, 0);
        assert.equal(await ch.get(q), false);
    }
    assert.equal(ch.closed, false);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('dying again in the same queue for the same reason increments count, moves to front; first-death stays', async (ctx) => {
    /* a -> (expired) -> b -> (rejected) -> a -> (expired) -> b ... */
    const { ch, typed } = await tappedOpen(ctx);
    const a = ctx.q('a');
    const b = ctx.q('b');
    await ch.assertQueue(a, { durable: false, arguments: {
        'x-message-ttl': 50, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': b } });
    await ch.assertQueue(b, { durable: false, arguments: {
        'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': a } });
    ch.sendToQueue(a, Buffer.from('looping'));
    const first = { reason: 'expired', queue: a, exchange: '' };

    ch.reject(await h.getWithin(ch, b), false);
    h.assertXDeath(typed().at(-1).headers, [
        { count: 1, reason: 'expired', queue: a, exchange: '', routingKeys: [a] },
    ], first);

    ch.reject(await h.getWithin(ch, b), false);
    h.assertXDeath(typed().at(-1).headers, [
        { count: 2, reason: 'expired', queue: a, exchange: '', routingKeys: [a] },
        { count: 1, reason: 'rejected', queue: b, exchange: '', routingKeys: [b] },
    ], first);

    const third = await h.getWithin(ch, b, { noAck: true });
    assert.equal(third.content.toString(), 'looping');
    h.assertXDeath(typed().at(-1).headers, [
        { count: 3, reason: 'expired', queue: a, exchange: '', routingKeys: [a] },
        { count: 2, reason: 'rejected', queue: b, exchange: '', routingKeys: [b] },
    ], first);
});

/* `q` with `args` dead-lettering into fanout `fan`, bound to `q` itself and to `spy`. */
async function selfFanout(ctx, ch, args) {
    const fan = ctx.x('fan');
    await ch.assertExchange(fan, 'fanout', { durable: false });
    const q = ctx.q('loop');
    await ch.assertQueue(q, { durable: false, arguments: { ...args, 'x-dead-letter-exchange': fan } });
    const spy = ctx.q('spy');
    await ch.assertQueue(spy, { durable: false });
    await ch.bindQueue(q, fan, '');
    await ch.bindQueue(spy, fan, '');
    return { fan, q, spy };
}

h.brokerTest('cycle: a message expiring back into its own queue is dropped there, other targets still get it', async (ctx) => {
    const { ch, typed } = await tappedOpen(ctx);
    const { q, spy } = await selfFanout(ctx, ch, { 'x-message-ttl': 50 });
    ch.sendToQueue(q, Buffer.from('cyclic'));
    const d = await h.getWithin(ch, spy, { noAck: true });
    assert.equal(d.content.toString(), 'cyclic');
    h.assertXDeath(typed().at(-1).headers, [
        { count: 1, reason: 'expired', queue: q, exchange: '', routingKeys: [q] },
    ], { reason: 'expired', queue: q, exchange: '' });
    /* had the copy for q survived, it would expire again and reach spy again */
    await h.sleep(h.SILENCE_MS);
    assert.equal((await ch.checkQueue(spy)).messageCount, 0);
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
});

h.brokerTest('cycle: a maxlen death back into its own queue is dropped there', async (ctx) => {
    const { ch } = await ctx.open();
    const { q, spy } = await selfFanout(ctx, ch, { 'x-max-length': 1 });
    ch.sendToQueue(q, Buffer.from('first'));
    ch.sendToQueue(q, Buffer.from('second'));
    const d = await h.getWithin(ch, spy, { noAck: true });
    assert.equal(d.content.toString(), 'first');
    assert.equal(d.properties.headers['x-death'][0].reason, 'maxlen');
    await h.sleep(h.SILENCE_MS);
    assert.equal((await ch.checkQueue(spy)).messageCount, 0);
    assert.deepEqual(bodies(await h.drainQueue(ch, q)), ['second']);
});

h.brokerTest('cycle over two queues (expired, expired) is dropped; a bystander gets both deaths, newest first', async (ctx) => {
    const { ch, typed } = await tappedOpen(ctx);
    const fan = ctx.x('fan');
    await ch.assertExchange(fan, 'fanout', { durable: false });
    const a = ctx.q('a');
    const b = ctx.q('b');
    const spy = ctx.q('spy');
    await ch.assertQueue(a, { durable: false, arguments: {
        'x-message-ttl': 50, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': b } });
    await ch.assertQueue(b, { durable: false, arguments: { 'x-message-ttl': 50, 'x-dead-letter-exchange': fan } });
    await ch.assertQueue(spy, { durable: false });
    await ch.bindQueue(a, fan, '');
    await ch.bindQueue(spy, fan, '');
    ch.sendToQueue(a, Buffer.from('round'));
    const d = await h.getWithin(ch, spy, { noAck: true });
    assert.equal(d.content.toString(), 'round');
    assert.equal(d.fields.exchange, fan);
    assert.equal(d.fields.routingKey, b, 'the routing key it had in b');
    h.assertXDeath(typed().at(-1).headers, [
        { count: 1, reason: 'expired', queue: b, exchange: '', routingKeys: [b] },
        { count: 1, reason: 'expired', queue: a, exchange: '', routingKeys: [a] },
    ], { reason: 'expired', queue: a, exchange: '' });
    await h.sleep(h.SILENCE_MS);
    assert.equal((await ch.checkQueue(spy)).messageCount, 0);
    assert.equal((await ch.checkQueue(a)).messageCount, 0);
    assert.equal((await ch.checkQueue(b)).messageCount, 0);
});

h.brokerTest('rejected back into its own queue is never a cycle: count goes 1, 2, 3', async (ctx) => {
    const { ch, typed } = await tappedOpen(ctx);
    const q = ctx.q('self');
    await ch.assertQueue(q, { durable: false, arguments: {
        'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q } });
    ch.sendToQueue(q, Buffer.from('boomerang'));
    ch.reject(await h.getWithin(ch, q), false);
    for (let count = 1; count <= 3; count++) {
        const m = await h.getWithin(ch, q);
        assert.equal(m.content.toString(), 'boomerang');
        assert.equal(m.fields.redelivered, false, 'a dead-lettered message is a new delivery');
        h.assertXDeath(typed().at(-1).headers, [
            { count, reason: 'rejected', queue: q, exchange: '', routingKeys: [q] },
        ], { reason: 'rejected', queue: q, exchange: '' });
        ch.reject(m, false);
    }
});

h.brokerTest('same queue, different reason: a separate entry; a rejection in between breaks the expiry cycle', async (ctx) => {
    const { ch, typed } = await tappedOpen(ctx);
    const { fan, q, spy } = await selfFanout(ctx, ch, { 'x-message-ttl': 100 });
    const inbox = await h.consumeInto(ch, q);
    ch.sendToQueue(q, Buffer.from('twice'));
    const m = await inbox.take();
    await ch.cancel(inbox.consumerTag);
    /* rejected: copies to q and spy; the q copy then expires with no consumer */
    ch.reject(m, false);
    await h.waitForCount(ch, spy, 2);
    const copies = await h.drainQueue(ch, spy);
    assert.deepEqual(bodies(copies), ['twice', 'twice']);
    for (const c of copies) assert.equal(c.fields.exchange, fan);
    const all = typed();
    const first = { reason: 'rejected', queue: q, exchange: '' };
    h.assertXDeath(all.at(-2).headers, [
        { count: 1, reason: 'rejected', queue: q, exchange: '', routingKeys: [q] },
    ], first);
    /* the second death's exchange is the DLX the message came through */
    h.assertXDeath(all.at(-1).headers, [
        { count: 1, reason: 'expired', queue: q, exchange: fan, routingKeys: [q] },
        { count: 1, reason: 'rejected', queue: q, exchange: '', routingKeys: [q] },
    ], first);
    /* the expired copy was not put back into q (rejection no longer in between) */
    await h.sleep(h.SILENCE_MS);
    assert.equal((await ch.checkQueue(spy)).messageCount, 0);
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
});
