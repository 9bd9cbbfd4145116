'use strict';
/*
 * Checklist D: routing through the default, direct, fanout, topic and
 * headers exchanges, and de-duplication when several bindings match.
 */
const assert = require('node:assert/strict');
const h = require('./helpers');

/*
 * Bind one queue per entry of `bindings` (name -> [routingKey, args]) to
 * exchange `x`, publish each of `messages` (label -> [routingKey, headers]),
 * wait until every queue has what `expected` (name -> labels) says plus a
 * quiet period for extras, and assert the exact sets that arrived.
 */
async function assertRoutes(ch, x, bindings, messages, expected, map = (l) => l) {
    const inboxes = {};
    for (const [name, [key, args]] of Object.entries(bindings)) {
        const q = await ch.assertQueue('', { exclusive: true, durable: false });
        await ch.bindQueue(q.queue, x, key, args);
        inboxes[name] = [];
        await ch.consume(q.queue, (m) => inboxes[name].push(m.content.toString()), { noAck: true });
    }
    for (const [label, [key, headers]] of Object.entries(messages)) {
        ch.publish(x, key, Buffer.from(label), { headers });
    }
    const deadline = Date.now() + h.ARRIVE_MS;
    while (Object.keys(expected).some((n) => inboxes[n].length < expected[n].length) && Date.now() < deadline) {
        await h.sleep(20);
    }
    await h.sleep(h.SILENCE_MS);
    const actual = {};
    const want = {};
    for (const name of Object.keys(bindings)) {
        actual[name] = inboxes[name].map(map).sort();
        want[name] = (expected[name] || []).slice().sort();
    }
    assert.deepEqual(actual, want);
}

h.brokerTest('default exchange routes by queue name', async (ctx) => {
    const { ch } = await ctx.open();
    const a = ctx.q('a');
    const b = ctx.q('b');
    await ch.assertQueue(a, { durable: false });
    await ch.assertQueue(b, { durable: false });
    const ia = await h.consumeInto(ch, a, { noAck: true });
    const ib = await h.consumeInto(ch, b, { noAck: true });
    ch.publish('', a, Buffer.from('for-a'));
    ch.sendToQueue(b, Buffer.from('for-b'));
    const ma = await ia.take();
    assert.equal(ma.content.toString(), 'for-a');
    assert.equal(ma.fields.exchange, '');
    assert.equal(ma.fields.routingKey, a);
    assert.equal((await ib.take()).content.toString(), 'for-b');
    await ia.expectNone();
    await ib.expectNone(50);
});

h.brokerTest('default exchange: a key naming no queue is unroutable (mandatory return 312)', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    const returns = new h.Inbox();
    ch.on('return', (m) => returns.push(m));
    ch.publish('', `${q.queue}-not-a-queue`, Buffer.from('x'), { mandatory: true });
    const r = await returns.take();
    assert.equal(r.fields.replyCode, 312);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('direct exchange routes on exact routing-key match only', async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.x();
    await ch.assertExchange(x, 'direct', { durable: false });
    await assertRoutes(ch, x, {
        red: ['red'],
        green: ['green'],
        empty: [''],
    }, {
        m1: ['red'],
        m2: ['green'],
        m3: ['blue'],
        m4: [''],
        m5: ['Red'],
        m6: ['red.x'],
    }, { red: ['m1'], green: ['m2'], empty: ['m4'] });
});

h.brokerTest('direct exchange: one queue bound with two keys gets both', async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.x();
    await ch.assertExchange(x, 'direct', { durable: false });
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    await ch.bindQueue(q.queue, x, 'k1');
    await ch.bindQueue(q.queue, x, 'k2');
    const inbox = await h.consumeInto(ch, q.queue, { noAck: true });
    ch.publish(x, 'k1', Buffer.from('one'));
    ch.publish(x, 'k2', Buffer.from('two'));
    const seen = (await inbox.takeN(2)).map((m) => m.content.toString()).sort();
    assert.deepEqual(seen, ['one', 'two']);
});

h.brokerTest('fanout exchange delivers to every bound queue regardless of routing key', async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.x();
    await ch.assertExchange(x, 'fanout', { durable: false });
    await assertRoutes(ch, x, {
        q1: [''],
        q2: ['ignored'],
        q3: ['#'],
    }, {
        m1: [''],
        m2: ['anything'],
    }, { q1: ['m1', 'm2'], q2: ['m1', 'm2'], q3: ['m1', 'm2'] });
});

h.brokerTest('topic exchange: *, # and empty words match as RabbitMQ does', async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.x();
    await ch.assertExchange(x, 'topic', { durable: false });
    const keys = ['a.b.c', 'a..c', 'a', 'a.b', 'a.', '.c', '', 'c', 'x.y.z', 'a.b.b.c', 'a.c', '.', '..'];
    const messages = {};
    const labelOf = new Map();
    keys.forEach((k, i) => {
        labelOf.set(k, `k${i}=${k}`);
        messages[`k${i}=${k}`] = [k];
    });
    const patterns = {
        'a.*.c': ['a.*.c'],
        'a.#': ['a.#'],
        '#.c': ['#.c'],
        '*': ['*'],
        '#': ['#'],
        'a.*': ['a.*'],
        '*.*': ['*.*'],
        'a..c': ['a..c'],
        'empty': [''],
        'a.#.c': ['a.#.c'],
        '*.#': ['*.#'],
        'a.*.#': ['a.*.#'],
        '#.*': ['#.*'],
        'dot': ['.'],
    };
    const want = (...ks) => ks.map((k) => labelOf.get(k)).sort();
    await assertRoutes(ch, x, patterns, messages, {
        'a.*.c': want('a.b.c', 'a..c'),
        'a.#': want('a.b.c', 'a..c', 'a', 'a.b', 'a.', 'a.b.b.c', 'a.c'),
        '#.c': want('a.b.c', 'a..c', '.c', 'c', 'a.b.b.c', 'a.c'),
        /* the empty routing key has no words, so * does not match it */
        '*': want('a', 'c'),
        '#': want(...keys),
        'a.*': want('a.b', 'a.', 'a.c'),
        '*.*': want('a.b', 'a.', '.c', 'a.c', '.'),
        'a..c': want('a..c'),
        'empty': want(''),
        'a.#.c': want('a.b.c', 'a..c', 'a.b.b.c', 'a.c'),
        '*.#': want(...keys.filter((k) => k !== '')),
        'a.*.#': want('a.b.c', 'a..c', 'a.b', 'a.', 'a.b.b.c', 'a.c'),
        '#.*': want(...keys.filter((k) => k !== '')),
        'dot': want('.'),
    });
});

h.brokerTest('topic exchange: binding patterns are case-sensitive literal words', async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.x();
    await ch.assertExchange(x, 'topic', { durable: false });
    await assertRoutes(ch, x, {
        stock: ['stock.usd.*'],
        nyse: ['*.*.nyse'],
    }, {
        m1: ['stock.usd.nyse'],
        m2: ['stock.eur.nyse'],
        m3: ['Stock.usd.nyse'],
        m4: ['stock.usd'],
        m5: ['stock.usd.nyse.x'],
    }, { stock: ['m1'], nyse: ['m1', 'm2', 'm3'] });
});

h.brokerTest('headers exchange: x-match all, any and the default (all)', async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.x();
    await ch.assertExchange(x, 'headers', { durable: false });
    await assertRoutes(ch, x, {
        all: ['', { 'x-match': 'all', a: '1', b: '2' }],
        any: ['', { 'x-match': 'any', a: '1', b: '2' }],
        dflt: ['', { a: '1', b: '2' }],
    }, {
        m1: ['', { a: '1', b: '2' }],
        m2: ['', { a: '1' }],
        m3: ['', { a: '1', b: '3' }],
        m4: ['', {}],
        m5: ['', { a: '1', b: '2', c: '3' }],
        m6: ['', { b: '2' }],
        m7: ['', { 'x-k': 'v', a: '1' }],
    }, {
        all: ['m1', 'm5'],
        any: ['m1', 'm2', 'm3', 'm5', 'm6', 'm7'],
        dflt: ['m1', 'm5'],
    });
});

h.brokerTest('headers exchange: all-with-x / any-with-x consider x- headers, all / any ignore them', async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.x();
    await ch.assertExchange(x, 'headers', { durable: false });
    await assertRoutes(ch, x, {
        allx: ['', { 'x-match': 'all-with-x', 'x-k': 'v', a: '1' }],
        anyx: ['', { 'x-match': 'any-with-x', 'x-k': 'v' }],
        anyOnlyX: ['', { 'x-match': 'any', 'x-k': 'v' }],
        allOnlyX: ['', { 'x-match': 'all', 'x-k': 'v' }],
    }, {
        m1: ['', { a: '1' }],
        m2: ['', { 'x-k': 'v', a: '1' }],
        m3: ['', { 'x-k': 'v' }],
        m4: ['', { 'x-k': 'w', a: '1' }],
        m5: ['', {}],
    }, {
        allx: ['m2'],
        anyx: ['m2', 'm3'],
        anyOnlyX: [],
        allOnlyX: ['m1', 'm2', 'm3', 'm4', 'm5'],
    });
});

h.brokerTest('headers exchange: empty all matches everything, empty any matches nothing', async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.x();
    await ch.assertExchange(x, 'headers', { durable: false });
    await assertRoutes(ch, x, {
        emptyAll: ['', { 'x-match': 'all' }],
        emptyAny: ['', { 'x-match': 'any' }],
    }, {
        m1: ['', {}],
        m2: ['', { a: '1' }],
    }, { emptyAll: ['m1', 'm2'], emptyAny: [] });
});

h.brokerTest('headers exchange: values compare by value (integer widths equal, string vs int not, void matches presence)', async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.x();
    await ch.assertExchange(x, 'headers', { durable: false });
    await assertRoutes(ch, x, {
        num: ['', { n: 1 }],
        str: ['', { n: '1' }],
        voidv: ['', { v: null }],
    }, {
        byteOne: ['', { n: 1 }],
        int32One: ['', { n: { '!': 'int32', value: 1 } }],
        strOne: ['', { n: '1' }],
        vNull: ['', { v: null }],
        vStr: ['', { v: 'x' }],
        none: ['', {}],
    }, {
        num: ['byteOne', 'int32One'],
        str: ['strOne'],
        voidv: ['vNull', 'vStr'],
    });
});

h.brokerTest('headers exchange: an invalid x-match value is channel.close 406', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const x = ctx.x();
    await ch.assertExchange(x, 'headers', { durable: false });
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    const res = await h.expectClose(conn, ch, () => ch.bindQueue(q.queue, x, '', { 'x-match': 'bogus' }));
    h.assertChannelClose(res, 406, 'PRECONDITION_FAILED - ', 50, 20);
});

h.brokerTest('a message matching several bindings of one queue arrives there once', async (ctx) => {
    const { ch } = await ctx.open();
    const topic = ctx.x('topic');
    await ch.assertExchange(topic, 'topic', { durable: false });
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    for (const p of ['a.b', 'a.*', '#', '*.b', 'a.#']) await ch.bindQueue(q.queue, topic, p);
    const other = await ch.assertQueue('', { exclusive: true, durable: false });
    await ch.bindQueue(other.queue, topic, 'a.b');
    const inbox = await h.consumeInto(ch, q.queue, { noAck: true });
    const otherIn = await h.consumeInto(ch, other.queue, { noAck: true });
    ch.publish(topic, 'a.b', Buffer.from('once'));
    assert.equal((await inbox.take()).content.toString(), 'once');
    assert.equal((await otherIn.take()).content.toString(), 'once');
    await inbox.expectNone();
    await otherIn.expectNone(50);
});

h.brokerTest('a message reaching one queue via two exchange paths arrives there once', async (ctx) => {
    const { ch } = await ctx.open();
    const src = ctx.x('src');
    const mid = ctx.x('mid');
    await ch.assertExchange(src, 'fanout', { durable: false });
    await ch.assertExchange(mid, 'fanout', { durable: false });
    await ch.bindExchange(mid, src, '');
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    await ch.bindQueue(q.queue, src, '');
    await ch.bindQueue(q.queue, mid, '');
    const inbox = await h.consumeInto(ch, q.queue, { noAck: true });
    ch.publish(src, '', Buffer.from('dedup'));
    assert.equal((await inbox.take()).content.toString(), 'dedup');
    await inbox.expectNone();
});

h.brokerTest('a queue bound with the same key twice holds a single binding', async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.x();
    await ch.assertExchange(x, 'direct', { durable: false });
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    await ch.bindQueue(q.queue, x, 'k');
    await ch.bindQueue(q.queue, x, 'k');
    await ch.unbindQueue(q.queue, x, 'k');
    const returns = new h.Inbox();
    ch.on('return', (m) => returns.push(m));
    ch.publish(x, 'k', Buffer.from('x'), { mandatory: true });
    const r = await returns.take();
    assert.equal(r.fields.replyCode, 312, 'one unbind removed the only binding');
});
