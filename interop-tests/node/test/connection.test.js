'use strict';
/*
 * Checklist A: handshake, server properties, authentication, vhosts, tuning
 * (channel-max, frame-max, heartbeat), channel.flow and client-side close.
 */
const assert = require('node:assert/strict');
const amqp = require('amqplib');
const h = require('./helpers');

const CAPABILITIES = [
    'publisher_confirms',
    'exchange_exchange_bindings',
    'basic.nack',
    'consumer_cancel_notify',
    'connection.blocked',
    'consumer_priorities',
    'authentication_failure_close',
    'per_consumer_qos',
    'direct_reply_to',
];

h.brokerTest('server properties carry a product string and every advertised capability', async (ctx) => {
    const conn = await ctx.connect();
    const props = conn.connection.serverProperties;
    assert.equal(typeof props.product, 'string');
    assert.ok(props.product.length > 0, 'product must not be empty');
    assert.equal(typeof props.version, 'string');
    assert.equal(typeof props.capabilities, 'object');
    for (const cap of CAPABILITIES) {
        assert.equal(props.capabilities[cap], true, `capability ${cap}`);
    }
});

h.brokerTest('wrong password is refused with connection.close 403 ACCESS_REFUSED', async () => {
    await assert.rejects(
        amqp.connect(h.brokerUrl({ pass: 'definitely-not-the-password' })),
        (err) => {
            assert.match(err.message, /Handshake terminated by server: 403 \(ACCESS-REFUSED\)/);
            assert.match(err.message, /with message "ACCESS_REFUSED - /);
            return true;
        },
    );
});

h.brokerTest('raw handshake: wrong password with authentication_failure_close gets close 403', async () => {
    const res = await h.rawHandshake({ pass: 'wrong', authFailureClose: true });
    assert.ok(res.close, `expected connection.close, got ${JSON.stringify(res)}`);
    assert.equal(res.close.code, 403);
    assert.ok(res.close.text.startsWith('ACCESS_REFUSED - '), res.close.text);
});

h.brokerTest('raw handshake: wrong password without authentication_failure_close just closes the socket', async () => {
    const res = await h.rawHandshake({ pass: 'wrong', authFailureClose: false });
    assert.deepEqual(res, { socketClosed: true });
});

h.brokerTest('raw handshake: good credentials and vhost "/" reach connection.open-ok', async () => {
    const res = await h.rawHandshake({});
    assert.deepEqual(res, { opened: true });
});

h.brokerTest('unknown vhost: amqplib gets connection.close instead of open-ok', async () => {
    await assert.rejects(
        amqp.connect(h.brokerUrl({ vhost: h.uniqueName('no-such-vhost') })),
        /Expected ConnectionOpenOk; got <ConnectionClose/,
    );
});

h.brokerTest('raw handshake: unknown vhost is connection.close 530 NOT_ALLOWED on connection.open', async () => {
    const res = await h.rawHandshake({ vhost: h.uniqueName('no-such-vhost') });
    assert.ok(res.close, `expected connection.close, got ${JSON.stringify(res)}`);
    assert.equal(res.close.code, 530);
    assert.ok(res.close.text.startsWith('NOT_ALLOWED - '), res.close.text);
    assert.equal(res.close.classId, 10);
    assert.equal(res.close.methodId, 40);
});

h.brokerTest('AMQPLAIN login works as well as PLAIN', async (ctx) => {
    const conn = await ctx.connect({}, { credentials: amqp.credentials.amqplain('guest', 'guest') });
    await h.assertConnectionUsable(conn);
});

h.brokerTest('AMQPLAIN with a wrong password is refused with 403', async () => {
    await assert.rejects(
        amqp.connect(h.brokerUrl(), { credentials: amqp.credentials.amqplain('guest', 'wrong') }),
        /403 \(ACCESS-REFUSED\)/,
    );
});

h.brokerTest('frame_max 4096 requested by the client is what gets negotiated', async (ctx) => {
    const conn = await ctx.connect({ params: { frameMax: 4096 } });
    assert.equal(conn.connection.frameMax, 4096);
});

h.brokerTest('with frame_max 4096 a 300 KiB message is split and arrives intact', async (ctx) => {
    const conn = await ctx.connect({ params: { frameMax: 4096 } });
    const ch = await h.openChannel(conn);
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    const body = Buffer.alloc(300 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7 + 3) & 0xff;
    const inbox = await h.consumeInto(ch, q, { noAck: true });
    ch.sendToQueue(q, body);
    const m = await inbox.take();
    assert.equal(m.content.length, body.length);
    assert.equal(h.sha256(m.content), h.sha256(body));
});

h.brokerTest('broker never sends a frame larger than the negotiated frame_max 4096', async (ctx) => {
    const conn = await ctx.connect({ params: { frameMax: 4096 } });
    const tap = h.tapFrames(conn, 'in');
    const ch = await h.openChannel(conn);
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    const inbox = await h.consumeInto(ch, q, { noAck: true });
    ch.sendToQueue(q, Buffer.alloc(50000, 0x61));
    const m = await inbox.take();
    assert.equal(m.content.length, 50000);
    const frames = tap.frames();
    const bodies = frames.filter((f) => f.type === 3);
    assert.ok(bodies.length >= 13, `50000 bytes need at least 13 body frames, saw ${bodies.length}`);
    for (const f of frames) assert.ok(f.payload.length + 8 <= 4096, `frame of ${f.payload.length + 8} bytes`);
});

h.brokerTest('channel_max asked by the client is negotiated', async (ctx) => {
    const conn = await ctx.connect({ params: { channelMax: 5 } });
    assert.equal(conn.connection.channelMax, 5);
    const chans = [];
    for (let i = 0; i < 5; i++) chans.push(await h.openChannel(conn));
    assert.deepEqual(chans.map((c) => c.ch), [1, 2, 3, 4, 5]);
    await chans[4].close();
    await h.assertConnectionUsable(conn);
});

h.brokerTest('opening channel channel_max+1 is connection.close 530 NOT_ALLOWED', async (ctx) => {
    const conn = await ctx.connect({ params: { channelMax: 2 } });
    assert.equal(conn.connection.channelMax, 2);
    await h.openChannel(conn);
    await h.openChannel(conn);
    /* amqplib refuses to allocate past channel_max itself; lift its guard. */
    conn.connection.channelMax = 10;
    const res = await h.expectClose(conn, null, () => conn.createChannel());
    h.assertConnectionClose(res, 530, 'NOT_ALLOWED - ');
    assert.equal(conn.closed, true);
});

h.brokerTest('heartbeat of 1 s is negotiated and keeps an idle connection alive for 3.5 s', async (ctx) => {
    const conn = await ctx.connect({ params: { heartbeat: 1 } });
    assert.equal(conn.connection.heartbeat, 1);
    const tap = h.tapFrames(conn, 'in');
    /*
     * amqplib drops the connection after two silent intervals, so the broker
     * must be sending heartbeats for this to survive.
     */
    await h.sleep(3500);
    assert.deepEqual(conn.errors, []);
    assert.equal(conn.closed, false);
    const beats = tap.frames().filter((f) => f.type === 8);
    assert.ok(beats.length >= 2, `expected heartbeat frames from the broker, saw ${beats.length}`);
    for (const b of beats) {
        assert.equal(b.channel, 0);
        assert.equal(b.payload.length, 0);
    }
    await h.assertConnectionUsable(conn);
}, { timeout: 15000 });

h.brokerTest('heartbeat 0 requested by the client disables heartbeats', async (ctx) => {
    const conn = await ctx.connect({ params: { heartbeat: 0 } });
    assert.equal(conn.connection.heartbeat, 0);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('client-initiated connection close completes and emits close without error', async () => {
    const conn = await h.connect();
    const closed = new Promise((resolve) => conn.once('close', resolve));
    await conn.close();
    const err = await closed;
    assert.equal(err, undefined);
    assert.deepEqual(conn.errors, []);
});

h.brokerTest('closing one channel leaves the connection and other channels working', async (ctx) => {
    const conn = await ctx.connect();
    const a = await h.openChannel(conn);
    const b = await h.openChannel(conn);
    await a.close();
    assert.equal(a.closed, true);
    const q = await b.assertQueue('', { exclusive: true, durable: false });
    assert.ok(q.queue.startsWith('amq.gen-'));
    const c = await h.openChannel(conn);
    assert.equal(c.ch, a.ch, 'the freed channel number is reused');
    await c.checkQueue(q.queue);
});

h.brokerTest('channel.flow active=true is answered with flow-ok active=true', async (ctx) => {
    const { ch } = await ctx.open();
    const ok = await ch.rpc(h.METHOD.channelFlow, { active: true }, h.METHOD.channelFlowOk);
    assert.equal(ok.active, true);
    await ch.checkExchange('amq.direct');
});

h.brokerTest('channel.flow active=false is connection.close 540 NOT_IMPLEMENTED', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const res = await h.expectClose(conn, ch,
        () => ch.rpc(h.METHOD.channelFlow, { active: false }, h.METHOD.channelFlowOk));
    h.assertConnectionClose(res, 540, 'NOT_IMPLEMENTED - ');
});

h.brokerTest('many channels on one connection work independently', async (ctx) => {
    const conn = await ctx.connect();
    const chans = await Promise.all(Array.from({ length: 20 }, () => h.openChannel(conn)));
    const queues = await Promise.all(chans.map((c) => c.assertQueue('', { exclusive: true, durable: false })));
    await Promise.all(chans.map((c, i) => {
        c.sendToQueue(queues[i].queue, Buffer.from(`m${i}`));
        return h.getWithin(c, queues[i].queue, { noAck: true }).then((m) => {
            assert.equal(m.content.toString(), `m${i}`);
        });
    }));
});
