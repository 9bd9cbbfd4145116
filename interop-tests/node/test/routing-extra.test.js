'use strict';
/*
 * Routing extras: sender-selected distribution (CC and BCC headers),
 * alternate exchanges beyond the basic case in exchanges.test.js, and direct
 * reply-to (amq.rabbitmq.reply-to).
 */
const assert = require('node:assert/strict');
const h = require('./helpers');

const bodies = (msgs) => msgs.map((m) => m.content.toString());

/* A direct exchange with one queue per key in `keys`: { x, queues: {key: name} }. */
async function directWithQueues(ctx, ch, keys) {
    const x = ctx.x('direct');
    await ch.assertExchange(x, 'direct', { durable: false });
    const queues = {};
    for (const key of keys) {
        queues[key] = ctx.q(key);
        await ch.assertQueue(queues[key], { durable: false });
        await ch.bindQueue(queues[key], x, key);
    }
    return { x, queues };
}

/* Collect basic.return messages of a channel. */
function returnsOf(ch) {
    const inbox = new h.Inbox();
    ch.on('return', (m) => inbox.push(m));
    return inbox;
}

h.brokerTest('CC routes to its keys on the same exchange too; CC is kept, the routing key is the published one', async (ctx) => {
    const { ch } = await ctx.open();
    const { x, queues } = await directWithQueues(ctx, ch, ['ka', 'kb', 'kc', 'kd']);
    ch.publish(x, 'ka', Buffer.from('cc'), { headers: { CC: ['kb', 'kc'], other: 'o' } });
    for (const key of ['ka', 'kb', 'kc']) {
        const m = await h.getWithin(ch, queues[key], { noAck: true });
        assert.equal(m.content.toString(), 'cc');
        assert.equal(m.fields.exchange, x);
        assert.equal(m.fields.routingKey, 'ka', `copy in ${key} names the publish routing key`);
        assert.deepEqual(m.properties.headers, { CC: ['kb', 'kc'], other: 'o' });
    }
    assert.equal(await ch.get(queues.kd), false);
});

h.brokerTest('BCC routes like CC but is removed from every delivered copy', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const { x, queues } = await directWithQueues(ctx, ch, ['ka', 'kb', 'kc']);
    const typed = h.tapContentHeaders(conn);
    const inboxes = {};
    for (const key of ['ka', 'kb', 'kc']) inboxes[key] = await h.consumeInto(ch, queues[key], { noAck: true });
    ch.publish(x, 'ka', Buffer.from('bcc'), { headers: { CC: ['kb'], BCC: ['kc'] } });
    for (const key of ['ka', 'kb', 'kc']) {
        const m = await inboxes[key].take();
        assert.equal(m.fields.routingKey, 'ka');
        assert.deepEqual(m.properties.headers, { CC: ['kb'] });
    }
    for (const t of typed()) {
        assert.deepEqual(Object.keys(t.headers), ['CC'], 'no BCC on the wire');
        assert.deepEqual(t.headers.CC, { type: 'A', value: [{ type: 'S', value: 'kb' }] });
    }
    /* BCC alone, with an unroutable routing key */
    ch.publish(x, 'none', Buffer.from('bcc-only'), { headers: { BCC: ['kc'] } });
    const m = await inboxes.kc.take();
    assert.equal(m.content.toString(), 'bcc-only');
    assert.deepEqual(m.properties.headers, {});
});

h.brokerTest('a queue reached by the routing key and by CC/BCC gets the message once', async (ctx) => {
    const { ch } = await ctx.open();
    const { x, queues } = await directWithQueues(ctx, ch, ['ka', 'kb']);
    ch.publish(x, 'ka', Buffer.from('once'), { headers: { CC: ['ka', 'kb', 'kb'], BCC: ['ka'] } });
    await h.waitForCount(ch, queues.kb, 1);
    await h.sleep(100);
    assert.deepEqual(bodies(await h.drainQueue(ch, queues.ka)), ['once']);
    assert.deepEqual(bodies(await h.drainQueue(ch, queues.kb)), ['once']);
});

h.brokerTest('CC keys are matched by topic patterns; BCC works on the default exchange', async (ctx) => {
    const { ch } = await ctx.open();
    const t = ctx.x('topic');
    await ch.assertExchange(t, 'topic', { durable: false });
    const tq = ctx.q('tq');
    await ch.assertQueue(tq, { durable: false });
    await ch.bindQueue(tq, t, 'a.*');
    ch.publish(t, 'x.y', Buffer.from('topic-cc'), { headers: { CC: ['a.b'] } });
    const m = await h.getWithin(ch, tq, { noAck: true });
    assert.equal(m.fields.routingKey, 'x.y');

    const q1 = ctx.q('d1');
    const q2 = ctx.q('d2');
    await ch.assertQueue(q1, { durable: false });
    await ch.assertQueue(q2, { durable: false });
    ch.sendToQueue(q1, Buffer.from('default-cc'), { headers: { BCC: [q2] } });
    assert.equal((await h.getWithin(ch, q1, { noAck: true })).content.toString(), 'default-cc');
    const viaBcc = await h.getWithin(ch, q2, { noAck: true });
    assert.equal(viaBcc.fields.routingKey, q1);
    assert.deepEqual(viaBcc.properties.headers, {});
});

h.brokerTest('mandatory: routable only through CC/BCC is not returned; unroutable is returned without BCC', async (ctx) => {
    const { ch } = await ctx.open();
    const { x, queues } = await directWithQueues(ctx, ch, ['kb']);
    const returns = returnsOf(ch);
    ch.publish(x, 'none', Buffer.from('cc-saves'), { mandatory: true, headers: { CC: ['kb'] } });
    ch.publish(x, 'none', Buffer.from('bcc-saves'), { mandatory: true, headers: { BCC: ['kb'] } });
    ch.publish(x, 'none', Buffer.from('lost'), { mandatory: true, headers: { CC: ['zz'], BCC: ['yy'] } });
    const r = await returns.take();
    assert.equal(r.content.toString(), 'lost');
    assert.equal(r.fields.replyCode, 312);
    assert.equal(r.fields.replyText, 'NO_ROUTE');
    assert.equal(r.fields.routingKey, 'none');
    assert.deepEqual(r.properties.headers, { CC: ['zz'] });
    await returns.expectNone(200);
    assert.deepEqual(bodies(await h.drainQueue(ch, queues.kb)), ['cc-saves', 'bcc-saves']);
});

h.brokerTest('CC/BCC array elements that are not strings are ignored; other header names are ordinary', async (ctx) => {
    const { ch } = await ctx.open();
    const { x, queues } = await directWithQueues(ctx, ch, ['kb', 'kc']);
    ch.publish(x, 'none', Buffer.from('mixed'), { headers: { CC: [5, 'kb', Buffer.from('kc')] } });
    ch.publish(x, 'none', Buffer.from('lower'), { headers: { cc: ['kc'], Bcc: ['kc'] } });
    const m = await h.getWithin(ch, queues.kb, { noAck: true });
    assert.equal(m.content.toString(), 'mixed');
    assert.deepEqual(m.properties.headers.CC, [5, 'kb', Buffer.from('kc')]);
    await h.sleep(200);
    assert.equal(await ch.get(queues.kc), false);
});

h.brokerTest('a CC or BCC header that is not an array is channel.close 406 on basic.publish', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const { x, queues } = await directWithQueues(ctx, ch, ['kb']);
    const cases = [
        [{ CC: 'kb' }, 'CC', 'longstr'],
        [{ BCC: 'kb' }, 'BCC', 'longstr'],
        [{ CC: 5 }, 'CC', 'byte'],
        [{ CC: { k: 'kb' } }, 'CC', 'table'],
        [{ CC: null }, 'CC', 'void'],
    ];
    for (const [headers, name, type] of cases) {
        const c = await h.openChannel(conn);
        const res = await h.expectClose(conn, c, async () => {
            c.publish(x, 'kb', Buffer.from('bad'), { headers });
            await c.checkQueue(queues.kb);
        });
        h.assertChannelClose(res, 406, 'PRECONDITION_FAILED - invalid message: ', 60, 40);
        /* RabbitMQ appends an Erlang term naming the header and its type */
        assert.ok(res.text.includes(`"${name}"`) && res.text.includes(type), res.text);
    }
    assert.equal((await ch.checkQueue(queues.kb)).messageCount, 0, 'nothing was routed');
    await h.assertConnectionUsable(conn);
});

h.brokerTest('alternate exchange: a missing AE means unroutable (mandatory return names the original exchange)', async (ctx) => {
    const { ch } = await ctx.open();
    const main = ctx.x('main');
    await ch.assertExchange(main, 'direct', { durable: false, alternateExchange: h.uniqueName('no-ae') });
    const returns = returnsOf(ch);
    ch.publish(main, 'r', Buffer.from('nowhere'), { mandatory: true });
    ch.publish(main, 'r', Buffer.from('silent'));
    const r = await returns.take();
    assert.equal(r.content.toString(), 'nowhere');
    assert.equal(r.fields.replyCode, 312);
    assert.equal(r.fields.exchange, main);
    await returns.expectNone(200);
    assert.equal(ch.closed, false);
});

h.brokerTest('alternate exchange that cannot route either: mandatory return names the original exchange', async (ctx) => {
    const { ch } = await ctx.open();
    const ae = ctx.x('ae');
    await ch.assertExchange(ae, 'direct', { durable: false });
    const main = ctx.x('main');
    await ch.assertExchange(main, 'direct', { durable: false, alternateExchange: ae });
    const returns = returnsOf(ch);
    ch.publish(main, 'r', Buffer.from('unroutable twice'), { mandatory: true });
    const r = await returns.take();
    assert.equal(r.fields.exchange, main);
    assert.equal(r.fields.routingKey, 'r');
});

h.brokerTest('alternate exchanges chain, and the AE routes with the original key and CC keys', async (ctx) => {
    const { ch } = await ctx.open();
    const last = ctx.x('ae2');
    await ch.assertExchange(last, 'fanout', { durable: false });
    const lastQ = ctx.q('last');
    await ch.assertQueue(lastQ, { durable: false });
    await ch.bindQueue(lastQ, last, '');
    const ae = ctx.x('ae1');
    await ch.assertExchange(ae, 'direct', { durable: false, alternateExchange: last });
    const aeQ = ctx.q('k');
    await ch.assertQueue(aeQ, { durable: false });
    await ch.bindQueue(aeQ, ae, 'k');
    const main = ctx.x('main');
    await ch.assertExchange(main, 'direct', { durable: false, alternateExchange: ae });
    const mainQ = ctx.q('known');
    await ch.assertQueue(mainQ, { durable: false });
    await ch.bindQueue(mainQ, main, 'known');
    const returns = returnsOf(ch);

    ch.publish(main, 'zz', Buffer.from('to-last'), { mandatory: true });
    ch.publish(main, 'k', Buffer.from('key-on-ae'), { mandatory: true });
    ch.publish(main, 'zz', Buffer.from('cc-on-ae'), { mandatory: true, headers: { CC: ['k'] } });
    ch.publish(main, 'zz', Buffer.from('cc-on-main'), { mandatory: true, headers: { CC: ['known'] } });
    const viaLast = await h.getWithin(ch, lastQ, { noAck: true });
    assert.equal(viaLast.content.toString(), 'to-last');
    assert.equal(viaLast.fields.exchange, main, 'delivery names the exchange it was published to');
    await h.waitForCount(ch, aeQ, 2);
    assert.deepEqual(bodies(await h.drainQueue(ch, aeQ)), ['key-on-ae', 'cc-on-ae']);
    assert.deepEqual(bodies(await h.drainQueue(ch, mainQ)), ['cc-on-main'], 'a CC route counts as routed');
    await returns.expectNone(200);
    assert.deepEqual(bodies(await h.drainQueue(ch, lastQ)), []);
});

h.brokerTest('alternate exchange cycle: no loop, the message is unroutable', async (ctx) => {
    const { ch } = await ctx.open();
    const x1 = ctx.x('cy1');
    const x2 = ctx.x('cy2');
    await ch.assertExchange(x1, 'direct', { durable: false, alternateExchange: x2 });
    await ch.assertExchange(x2, 'direct', { durable: false, alternateExchange: x1 });
    const returns = returnsOf(ch);
    ch.publish(x1, 'r', Buffer.from('cycle'), { mandatory: true });
    const r = await returns.take();
    assert.equal(r.fields.exchange, x1);
    await returns.expectNone(200);
    const q = ctx.q('after');
    await ch.assertQueue(q, { durable: false });
    await ch.bindQueue(q, x2, 'r');
    ch.publish(x1, 'r', Buffer.from('reaches x2'));
    assert.equal((await h.getWithin(ch, q, { noAck: true })).content.toString(), 'reaches x2');
});

h.brokerTest('an internal exchange can serve as alternate exchange', async (ctx) => {
    const { ch } = await ctx.open();
    const ae = ctx.x('internal-ae');
    await ch.assertExchange(ae, 'fanout', { durable: false, internal: true });
    const q = ctx.q('spare');
    await ch.assertQueue(q, { durable: false });
    await ch.bindQueue(q, ae, '');
    const main = ctx.x('main');
    await ch.assertExchange(main, 'direct', { durable: false, alternateExchange: ae });
    ch.publish(main, 'r', Buffer.from('via internal'));
    assert.equal((await h.getWithin(ch, q, { noAck: true })).content.toString(), 'via internal');
});

h.brokerTest('alternate-exchange argument that is not a string is channel.close 406 on exchange.declare', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const x = ctx.x('bad-ae');
    const res = await h.expectClose(conn, ch, () => ch.assertExchange(x, 'direct',
        { durable: false, arguments: { 'alternate-exchange': 5 } }));
    h.assertChannelClose(res, 406,
        `PRECONDITION_FAILED - invalid type 'byte' for arg 'alternate-exchange' in exchange '${x}' in vhost '/'`, 40, 10);
    const probe = await h.openChannel(conn);
    await assert.rejects(probe.checkExchange(x), /NOT_FOUND/);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('direct reply-to: the request carries a generated reply-to name and the reply arrives on the pseudo-queue', async (ctx) => {
    const { ch } = await ctx.open();
    const server = ctx.q('rpc');
    await ch.assertQueue(server, { durable: false });
    const serverConn = await ctx.connect();
    const sch = await h.openChannel(serverConn);
    const requests = await h.consumeInto(sch, server, { noAck: true });

    const replies = await h.consumeInto(ch, 'amq.rabbitmq.reply-to', { noAck: true });
    assert.ok(replies.consumerTag.startsWith('amq.ctag-'), replies.consumerTag);
    ch.sendToQueue(server, Buffer.from('ping'), { replyTo: 'amq.rabbitmq.reply-to', correlationId: 'c-1' });
    const req = await requests.take();
    assert.ok(req.properties.replyTo.startsWith('amq.rabbitmq.reply-to.'), req.properties.replyTo);
    assert.ok(req.properties.replyTo.length > 'amq.rabbitmq.reply-to.'.length);

    sch.sendToQueue(req.properties.replyTo, Buffer.from('pong'), { correlationId: req.properties.correlationId });
    const reply = await replies.take();
    assert.equal(reply.content.toString(), 'pong');
    assert.equal(reply.properties.correlationId, 'c-1');
    assert.equal(reply.fields.consumerTag, replies.consumerTag);
    assert.equal(reply.fields.exchange, '');
    assert.equal(reply.fields.routingKey, req.properties.replyTo);
    assert.equal(reply.fields.redelivered, false);

    /* a reply to a name nobody owns is dropped without an error */
    sch.sendToQueue('amq.rabbitmq.reply-to.bogus', Buffer.from('lost'));
    await sch.checkQueue(server);
    await replies.expectNone(200);
    assert.equal(sch.closed, false);
});

h.brokerTest('direct reply-to errors: ack-mode consumer, second consumer, publishing without a consumer (406)', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const server = ctx.q('rpc');
    await ch.assertQueue(server, { durable: false });

    const c1 = await h.openChannel(conn);
    let res = await h.expectClose(conn, c1, () => c1.consume('amq.rabbitmq.reply-to', () => {}, { noAck: false }));
    h.assertChannelClose(res, 406, 'PRECONDITION_FAILED - reply consumer cannot acknowledge', 60, 20);

    const c2 = await h.openChannel(conn);
    await c2.consume('amq.rabbitmq.reply-to', () => {}, { noAck: true });
    res = await h.expectClose(conn, c2, () => c2.consume('amq.rabbitmq.reply-to', () => {}, { noAck: true }));
    h.assertChannelClose(res, 406, 'PRECONDITION_FAILED - reply consumer already set', 60, 20);

    const c3 = await h.openChannel(conn);
    res = await h.expectClose(conn, c3, async () => {
        c3.sendToQueue(server, Buffer.from('x'), { replyTo: 'amq.rabbitmq.reply-to' });
        await c3.checkQueue(server);
    });
    h.assertChannelClose(res, 406, 'PRECONDITION_FAILED - fast reply consumer does not exist', 60, 40);
    assert.equal((await ch.checkQueue(server)).messageCount, 0);
    await h.assertConnectionUsable(conn);
});
