'use strict';
/*
 * Checklist E: mandatory returns, publishing errors, and that properties,
 * header tables and bodies of every awkward size survive the broker
 * unchanged (compared as values and as raw content-header bytes).
 */
const assert = require('node:assert/strict');
const h = require('./helpers');

/* basic.publish method fields for the low-level sendMessage call */
function publishFields(exchange, routingKey, { mandatory = false, immediate = false } = {}) {
    return { exchange, routingKey, mandatory, immediate, ticket: 0 };
}

const ALL_PROPERTIES = {
    contentType: 'application/x-warren-test',
    contentEncoding: 'identity',
    headers: { 'x-simple': 'yes' },
    deliveryMode: 2,
    priority: 7,
    correlationId: 'corr-\u00e9-1',
    replyTo: 'reply-queue',
    expiration: '600000',
    messageId: 'msg-0001',
    timestamp: 1700000000,
    type: 'test.type',
    userId: 'guest',
    appId: 'warren-interop-node',
    clusterId: 'cluster-x',
};

const MANY_HEADERS = {
    str: 'hello',
    emptyStr: '',
    unicode: 'h\u00e9llo \u4e16\u754c \ud83d\ude00',
    yes: true,
    no: false,
    i8: { '!': 'int8', value: -128 },
    u8: { '!': 'uint8', value: 255 },
    i16: { '!': 'int16', value: -32768 },
    u16: { '!': 'uint16', value: 65535 },
    i32: { '!': 'int32', value: -2147483648 },
    u32: { '!': 'uint32', value: 4294967295 },
    i64: { '!': 'int64', value: -9007199254740991 },
    i64big: { '!': 'int64', value: 9007199254740991 },
    f32: { '!': 'float', value: 1.5 },
    f64: { '!': 'double', value: Math.PI },
    dec: { '!': 'decimal', value: { places: 3, digits: 123456 } },
    ts: { '!': 'timestamp', value: 1234567890 },
    bytes: Buffer.from([0, 1, 2, 0xfe, 0xff]),
    nothing: null,
    list: ['a', 7, true, null, [1, 2], { k: 'v' }],
    emptyList: [],
    table: { nested: { deeper: 'x', n: 42 }, flag: false },
    emptyTable: {},
};

/* What amqplib decodes MANY_HEADERS back into. */
const MANY_HEADERS_DECODED = {
    str: 'hello',
    emptyStr: '',
    unicode: 'h\u00e9llo \u4e16\u754c \ud83d\ude00',
    yes: true,
    no: false,
    i8: -128,
    u8: 255,
    i16: -32768,
    u16: 65535,
    i32: -2147483648,
    u32: 4294967295,
    i64: -9007199254740991,
    i64big: 9007199254740991,
    f32: 1.5,
    f64: Math.PI,
    dec: { '!': 'decimal', value: { places: 3, digits: 123456 } },
    ts: { '!': 'timestamp', value: 1234567890 },
    bytes: Buffer.from([0, 1, 2, 0xfe, 0xff]),
    nothing: null,
    list: ['a', 7, true, null, [1, 2], { k: 'v' }],
    emptyList: [],
    table: { nested: { deeper: 'x', n: 42 }, flag: false },
    emptyTable: {},
};

function headerFrames(tap) {
    return tap.frames().filter((f) => f.type === 2).map((f) => f.payload);
}

h.brokerTest('mandatory publish with no route comes back as basic.return 312 NO_ROUTE', async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.x();
    await ch.assertExchange(x, 'direct', { durable: false });
    const returns = new h.Inbox();
    ch.on('return', (m) => returns.push(m));
    ch.publish(x, 'nobody-home', Buffer.from('returned body'), {
        mandatory: true, messageId: 'ret-1', headers: { h: 'v' },
    });
    const r = await returns.take();
    assert.equal(r.fields.replyCode, 312);
    assert.equal(r.fields.replyText, 'NO_ROUTE');
    assert.equal(r.fields.exchange, x);
    assert.equal(r.fields.routingKey, 'nobody-home');
    assert.equal(r.content.toString(), 'returned body');
    assert.equal(r.properties.messageId, 'ret-1');
    assert.deepEqual(r.properties.headers, { h: 'v' });
    assert.equal(ch.closed, false);
});

h.brokerTest('mandatory publish to the default exchange with an unknown queue name is returned', async (ctx) => {
    const { ch } = await ctx.open();
    const returns = new h.Inbox();
    ch.on('return', (m) => returns.push(m));
    const name = h.uniqueName('no-such-queue');
    ch.sendToQueue(name, Buffer.from('x'), { mandatory: true });
    const r = await returns.take();
    assert.equal(r.fields.replyCode, 312);
    assert.equal(r.fields.exchange, '');
    assert.equal(r.fields.routingKey, name);
});

h.brokerTest('mandatory publish that is routed is not returned', async (ctx) => {
    const { ch } = await ctx.open();
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    const returns = new h.Inbox();
    ch.on('return', (m) => returns.push(m));
    ch.sendToQueue(q.queue, Buffer.from('routed'), { mandatory: true });
    const m = await h.getWithin(ch, q.queue, { noAck: true });
    assert.equal(m.content.toString(), 'routed');
    await returns.expectNone();
});

h.brokerTest('non-mandatory unroutable publish is dropped silently', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const x = ctx.x();
    await ch.assertExchange(x, 'direct', { durable: false });
    const returns = new h.Inbox();
    ch.on('return', (m) => returns.push(m));
    ch.publish(x, 'nobody-home', Buffer.from('dropped'));
    await returns.expectNone();
    assert.equal(ch.closed, false);
    await ch.checkExchange(x);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('publish to a missing exchange is channel.close 404 NOT_FOUND', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const res = await h.expectClose(conn, ch, () => ch.publish(h.uniqueName('missing'), 'k', Buffer.from('x')));
    h.assertChannelClose(res, 404, 'NOT_FOUND - ', 60, 40);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('publish with immediate=true is connection.close 540 NOT_IMPLEMENTED', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    const res = await h.expectClose(conn, ch,
        () => ch.sendMessage(publishFields('', q.queue, { immediate: true }), {}, Buffer.from('now!')));
    h.assertConnectionClose(res, 540, 'NOT_IMPLEMENTED - ');
    assert.equal(conn.closed, true);
});

h.brokerTest('publish with a user-id other than the login is channel.close 406', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    const res = await h.expectClose(conn, ch, () => ch.sendToQueue(q.queue, Buffer.from('x'), { userId: 'mallory' }));
    h.assertChannelClose(res, 406, 'PRECONDITION_FAILED - ', 60, 40);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('all 14 basic properties survive as values and as identical content-header bytes', async (ctx) => {
    const pubConn = await ctx.connect();
    const subConn = await ctx.connect();
    const pub = await h.openChannel(pubConn);
    const sub = await h.openChannel(subConn);
    const q = ctx.q();
    await sub.assertQueue(q, { durable: false });
    const inbox = await h.consumeInto(sub, q, { noAck: true });
    const sent = h.tapFrames(pubConn, 'out');
    const received = h.tapFrames(subConn, 'in');

    pub.sendMessage(publishFields('', q), ALL_PROPERTIES, Buffer.from('props'));
    const m = await inbox.take();
    assert.equal(m.content.toString(), 'props');
    assert.deepEqual({ ...m.properties }, ALL_PROPERTIES);

    const out = headerFrames(sent);
    const inn = headerFrames(received);
    assert.equal(out.length, 1);
    assert.equal(inn.length, 1);
    assert.equal(out[0].readUInt16BE(12), 0xfffc, 'all 14 property flags set');
    assert.deepEqual(inn[0], out[0]);
});

h.brokerTest('a message without properties arrives with none set', async (ctx) => {
    const { ch } = await ctx.open();
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    const inbox = await h.consumeInto(ch, q.queue, { noAck: true });
    ch.sendMessage(publishFields('', q.queue), {}, Buffer.from('bare'));
    const m = await inbox.take();
    for (const [k, v] of Object.entries(m.properties)) {
        assert.equal(v, undefined, `property ${k} should be absent`);
    }
});

h.brokerTest('headers with every field-table value type survive byte-for-byte', async (ctx) => {
    const pubConn = await ctx.connect();
    const subConn = await ctx.connect();
    const pub = await h.openChannel(pubConn);
    const sub = await h.openChannel(subConn);
    const q = ctx.q();
    await sub.assertQueue(q, { durable: false });
    const inbox = await h.consumeInto(sub, q, { noAck: true });
    const sent = h.tapFrames(pubConn, 'out');
    const received = h.tapFrames(subConn, 'in');

    pub.sendToQueue(q, Buffer.from('typed'), { headers: MANY_HEADERS });
    const m = await inbox.take();
    assert.deepEqual(m.properties.headers, MANY_HEADERS_DECODED);
    const out = headerFrames(sent);
    const inn = headerFrames(received);
    assert.equal(out.length, 1);
    assert.equal(inn.length, 1);
    assert.deepEqual(inn[0], out[0]);
});

h.brokerTest('headers survive routing through a headers exchange unchanged', async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.x();
    await ch.assertExchange(x, 'headers', { durable: false });
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    await ch.bindQueue(q.queue, x, '', { 'x-match': 'any', str: 'hello' });
    const inbox = await h.consumeInto(ch, q.queue, { noAck: true });
    ch.publish(x, '', Buffer.from('via-headers'), { headers: MANY_HEADERS });
    const m = await inbox.take();
    assert.deepEqual(m.properties.headers, MANY_HEADERS_DECODED);
});

/* Publish `body` to a fresh queue and return the delivered message and received body frames. */
async function roundTrip(ctx, frameMax, body) {
    const params = frameMax ? { frameMax } : {};
    const conn = await ctx.connect({ params });
    const ch = await h.openChannel(conn);
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    const inbox = await h.consumeInto(ch, q.queue, { noAck: true });
    const tap = h.tapFrames(conn, 'in');
    ch.sendToQueue(q.queue, body);
    const m = await inbox.take(10000);
    const bodyFrames = tap.frames().filter((f) => f.type === 3);
    return { m, bodyFrames, negotiated: conn.connection.frameMax };
}

function patterned(size, seed) {
    const b = Buffer.alloc(size);
    let v = seed;
    for (let i = 0; i < size; i++) {
        v = (v * 1103515245 + 12345) >>> 0;
        b[i] = v >>> 24;
    }
    return b;
}

for (const frameMax of [4096, 131072]) {
    const cases = [
        ['0 bytes', 0, 0],
        ['1 byte', 1, 1],
        ['frame_max-8 bytes (one full body frame)', frameMax - 8, 1],
        ['frame_max-7 bytes (spills into a second frame)', frameMax - 7, 2],
    ];
    for (const [label, size, frames] of cases) {
        h.brokerTest(`frame_max ${frameMax}: body of ${label} arrives intact in ${frames} body frame(s)`, async (ctx) => {
            const body = patterned(size, size + frameMax);
            const { m, bodyFrames, negotiated } = await roundTrip(ctx, frameMax, body);
            assert.equal(negotiated, frameMax);
            assert.equal(m.content.length, size);
            assert.equal(h.sha256(m.content), h.sha256(body));
            assert.equal(bodyFrames.length, frames);
        });
    }
}

h.brokerTest('a 4 MiB body arrives intact', async (ctx) => {
    const body = patterned(4 * 1024 * 1024, 99);
    const { m, bodyFrames, negotiated } = await roundTrip(ctx, undefined, body);
    assert.equal(m.content.length, body.length);
    assert.equal(h.sha256(m.content), h.sha256(body));
    assert.equal(bodyFrames.length, Math.ceil(body.length / (negotiated - 8)));
}, { timeout: 30000 });

h.brokerTest('a 1 MiB body at frame_max 4096 arrives intact', async (ctx) => {
    const body = patterned(1024 * 1024, 7);
    const { m, bodyFrames } = await roundTrip(ctx, 4096, body);
    assert.equal(h.sha256(m.content), h.sha256(body));
    assert.equal(bodyFrames.length, Math.ceil(body.length / 4088));
}, { timeout: 30000 });

h.brokerTest('many messages published back-to-back arrive complete and in order', async (ctx) => {
    const { ch } = await ctx.open();
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    const inbox = await h.consumeInto(ch, q.queue, { noAck: true });
    const n = 500;
    for (let i = 0; i < n; i++) ch.sendToQueue(q.queue, Buffer.from(`seq-${i}`), { messageId: String(i) });
    const got = await inbox.takeN(n);
    assert.deepEqual(got.map((m) => m.content.toString()), Array.from({ length: n }, (_, i) => `seq-${i}`));
    assert.deepEqual(got.map((m) => m.fields.deliveryTag), Array.from({ length: n }, (_, i) => i + 1));
});
