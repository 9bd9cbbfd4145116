'use strict';
/*
 * Queue x- arguments: which values RabbitMQ accepts, the exact answer to
 * invalid ones (always channel.close 406 PRECONDITION_FAILED on
 * queue.declare, and no queue is created), and argument equivalence on
 * redeclare.
 */
const assert = require('node:assert/strict');
const h = require('./helpers');

const long = (value) => ({ '!': 'long', value });
const MAX_TTL = 315360000000; /* ten years in ms: the largest TTL / expiry accepted */

/*
 * Declare a fresh queue with `args` (plus `options`) on a new channel of
 * `conn` and return the close it provokes; the queue must not exist after.
 */
async function declareFails(ctx, conn, args, options = {}) {
    const q = ctx.q('args');
    const ch = await h.openChannel(conn);
    const res = await h.expectClose(conn, ch,
        () => ch.assertQueue(q, { durable: false, ...options, arguments: args }));
    const probe = await h.openChannel(conn);
    await assert.rejects(probe.checkQueue(q), /NOT_FOUND/, `queue ${q} must not have been created`);
    return { q, res };
}

/* Each row: [argument name, value]; the queue is rejected naming that argument. */
const INVALID = [
    ['x-max-priority', 256],
    ['x-max-priority', -1],
    ['x-max-priority', 'ten'],
    ['x-max-priority', 1.5],
    ['x-max-priority', true],
    ['x-max-priority', { '!': 'timestamp', value: 5 }],
    ['x-message-ttl', -1],
    ['x-message-ttl', 'abc'],
    ['x-message-ttl', 1.5],
    ['x-message-ttl', long(MAX_TTL + 1)],
    ['x-expires', 0],
    ['x-expires', -1],
    ['x-expires', 'a'],
    ['x-expires', long(MAX_TTL + 1)],
    ['x-max-length', -1],
    ['x-max-length', 'a'],
    ['x-max-length-bytes', -1],
    ['x-max-length-bytes', 'a'],
    ['x-overflow', 'foo'],
    ['x-overflow', 5],
    ['x-overflow', Buffer.from('drop-head')],
    ['x-single-active-consumer', 'yes'],
    ['x-single-active-consumer', 1],
    ['x-queue-type', 'bogus'],
    ['x-queue-type', 5],
    ['x-queue-mode', 'bogus'],
];

const describe = (value) => (Buffer.isBuffer(value) ? 'a byte array' : JSON.stringify(value));

for (const name of [...new Set(INVALID.map(([n]) => n))]) {
    const values = INVALID.filter(([n]) => n === name).map(([, v]) => v);
    h.brokerTest(`invalid ${name} (${values.map(describe).join(', ')}) is channel.close 406 "invalid arg" on queue.declare`, async (ctx) => {
        const conn = await ctx.connect();
        for (const value of values) {
            const { q, res } = await declareFails(ctx, conn, { [name]: value });
            assert.equal(res.level, 'channel', `${name} = ${describe(value)}: ${JSON.stringify(res)}`);
            h.assertChannelClose(res, 406, `PRECONDITION_FAILED - invalid arg '${name}' for queue '${q}' in vhost '/'`, 50, 10);
        }
        await h.assertConnectionUsable(conn);
    });
}

h.brokerTest('x-dead-letter-routing-key without x-dead-letter-exchange is refused (406)', async (ctx) => {
    const conn = await ctx.connect();
    const { q, res } = await declareFails(ctx, conn, { 'x-dead-letter-routing-key': 'rk' });
    h.assertChannelClose(res, 406,
        `PRECONDITION_FAILED - invalid arg 'x-dead-letter-routing-key' for queue '${q}' in vhost '/'`, 50, 10);
    const again = await declareFails(ctx, conn, { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 5 });
    h.assertChannelClose(again.res, 406,
        `PRECONDITION_FAILED - invalid arg 'x-dead-letter-routing-key' for queue '${again.q}' in vhost '/'`, 50, 10);
});

h.brokerTest('x-dead-letter-exchange that is not a string is "invalid type" (406)', async (ctx) => {
    const conn = await ctx.connect();
    const { q, res } = await declareFails(ctx, conn, { 'x-dead-letter-exchange': 5 });
    h.assertChannelClose(res, 406,
        `PRECONDITION_FAILED - invalid type 'byte' for arg 'x-dead-letter-exchange' in queue '${q}' in vhost '/'`, 50, 10);
    assert.equal(res.text.length, `PRECONDITION_FAILED - invalid type 'byte' for arg 'x-dead-letter-exchange' in queue '${q}' in vhost '/'`.length);
});

h.brokerTest('quorum-only arguments on a classic queue are refused (406)', async (ctx) => {
    const conn = await ctx.connect();
    for (const name of ['x-delivery-limit', 'x-max-in-memory-length']) {
        const { q, res } = await declareFails(ctx, conn, { [name]: 3 });
        h.assertChannelClose(res, 406, `PRECONDITION_FAILED - invalid arg '${name}' for queue '${q}' in vhost '/'`, 50, 10);
    }
});

h.brokerTest('a quorum queue must be durable, non-exclusive and not auto-delete; it refuses x-max-priority', async (ctx) => {
    const conn = await ctx.connect();
    const quorum = { 'x-queue-type': 'quorum' };
    for (const [options, property] of [[{ durable: false }, 'non-durable'],
        [{ durable: true, exclusive: true }, 'exclusive-owner'],
        [{ durable: true, autoDelete: true }, 'auto-delete']]) {
        const { q, res } = await declareFails(ctx, conn, quorum, options);
        h.assertChannelClose(res, 406, `PRECONDITION_FAILED - invalid property '${property}' for queue '${q}' in vhost '/'`, 50, 10);
    }
    const { q, res } = await declareFails(ctx, conn, { ...quorum, 'x-max-priority': 5 }, { durable: true });
    h.assertChannelClose(res, 406, `PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue '${q}' in vhost '/'`, 50, 10);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('boundary and unknown argument values are accepted', async (ctx) => {
    const { ch } = await ctx.open();
    const accepted = [
        { 'x-max-priority': 0 }, { 'x-max-priority': 255 },
        { 'x-max-priority': { '!': 'uint8', value: 5 } }, { 'x-max-priority': { '!': 'int16', value: 5 } },
        { 'x-max-priority': { '!': 'uint16', value: 5 } }, { 'x-max-priority': { '!': 'int32', value: 5 } },
        { 'x-max-priority': { '!': 'uint32', value: 5 } }, { 'x-max-priority': long(5) },
        { 'x-message-ttl': 0 }, { 'x-message-ttl': long(MAX_TTL) },
        { 'x-expires': 1 }, { 'x-expires': long(MAX_TTL) },
        { 'x-max-length': 0 }, { 'x-max-length-bytes': 0 }, { 'x-max-length': long(2 ** 53) },
        { 'x-overflow': 'drop-head' }, { 'x-overflow': 'reject-publish' }, { 'x-overflow': 'reject-publish-dlx' },
        { 'x-dead-letter-exchange': h.uniqueName('not-there') }, { 'x-dead-letter-exchange': '' },
        { 'x-single-active-consumer': false }, { 'x-single-active-consumer': true },
        { 'x-queue-type': 'classic' }, { 'x-queue-mode': 'lazy' }, { 'x-queue-mode': 'default' },
        { 'x-unknown': 'anything' }, { plain: [1, 'two'] },
    ];
    for (const args of accepted) {
        const q = ctx.q('ok');
        const ok = await ch.assertQueue(q, { durable: false, arguments: args });
        assert.equal(ok.queue, q, JSON.stringify(args));
    }
    assert.equal(ch.closed, false);
});

h.brokerTest('redeclare with a different argument value is 406 "inequivalent arg"', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const cases = [
        ['x-max-priority', 5, 6],
        ['x-max-length', 5, 6],
        ['x-max-length-bytes', 5, 6],
        ['x-message-ttl', 100, 200],
        ['x-expires', 100000, 100001],
        ['x-overflow', 'drop-head', 'reject-publish'],
        ['x-dead-letter-exchange', 'a', 'b'],
        ['x-max-priority', 5, 256],
    ];
    for (const [name, current, received] of cases) {
        const q = ctx.q('eq');
        await ch.assertQueue(q, { durable: false, arguments: { [name]: current } });
        const c = await h.openChannel(conn);
        const res = await h.expectClose(conn, c, () => c.assertQueue(q, { durable: false, arguments: { [name]: received } }));
        /* equivalence is checked before validity: 256 is "inequivalent", not "invalid" */
        h.assertChannelClose(res, 406, `PRECONDITION_FAILED - inequivalent arg '${name}' for queue '${q}' in vhost '/': ` +
            `received '${received}' but current is '${current}'`, 50, 10);
    }
    await h.assertConnectionUsable(conn);
});

h.brokerTest('redeclare adding or dropping a known argument is 406 "inequivalent arg"', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const prefix = (q, name) => `PRECONDITION_FAILED - inequivalent arg '${name}' for queue '${q}' in vhost '/': `;
    for (const [name, value, type] of [['x-max-length', 5, 'byte'], ['x-overflow', 'drop-head', 'longstr'],
        ['x-single-active-consumer', false, 'bool']]) {
        const q = ctx.q('eq');
        await ch.assertQueue(q, { durable: false, arguments: { [name]: value } });
        let c = await h.openChannel(conn);
        let res = await h.expectClose(conn, c, () => c.assertQueue(q, { durable: false }));
        h.assertChannelClose(res, 406, `${prefix(q, name)}received none but current is the value '${value}' of type '${type}'`, 50, 10);

        const bare = ctx.q('eq');
        await ch.assertQueue(bare, { durable: false });
        c = await h.openChannel(conn);
        res = await h.expectClose(conn, c, () => c.assertQueue(bare, { durable: false, arguments: { [name]: value } }));
        h.assertChannelClose(res, 406, `${prefix(bare, name)}received the value '${value}' of type '${type}' but current is none`, 50, 10);
    }
    await h.assertConnectionUsable(conn);
});

h.brokerTest('redeclare: integer width does not matter, unknown arguments are not compared', async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.q('eq');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': 5, 'x-message-ttl': 60000, 'x-custom': 'a' } });
    const ok = await ch.assertQueue(q, { durable: false, arguments: {
        'x-max-length': long(5), 'x-message-ttl': { '!': 'uint32', value: 60000 }, 'x-custom': 'b' } });
    assert.equal(ok.queue, q);
    assert.equal(ch.closed, false);
});
