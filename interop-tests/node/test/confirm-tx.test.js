'use strict';
/*
 * Checklist G: publisher confirms (tags, multiple, return-before-ack) and
 * transactions (commit, rollback, acks inside a transaction, mode clashes).
 * amqplib has no tx API, so tx.* goes through its generic channel rpc().
 */
const assert = require('node:assert/strict');
const h = require('./helpers');

const { METHOD } = h;
const txSelect = (ch) => ch.rpc(METHOD.txSelect, {}, METHOD.txSelectOk);
const txCommit = (ch) => ch.rpc(METHOD.txCommit, {}, METHOD.txCommitOk);
const txRollback = (ch) => ch.rpc(METHOD.txRollback, {}, METHOD.txRollbackOk);

/* Expand basic.ack frames (tag, multiple) into the set of tags confirmed. */
function confirmedTags(acks) {
    const seen = new Set();
    let highest = 0;
    for (const a of acks) {
        if (a.multiple) {
            for (let t = 1; t <= a.deliveryTag; t++) seen.add(t);
        } else {
            seen.add(a.deliveryTag);
        }
        assert.ok(a.deliveryTag > highest || !a.multiple, 'multiple acks move forward');
        highest = Math.max(highest, a.deliveryTag);
    }
    return [...seen].sort((x, y) => x - y);
}

h.brokerTest('confirm mode: N publishes are acked with delivery tags 1..N', async (ctx) => {
    const conn = await ctx.connect();
    const ch = await h.openChannel(conn, { confirm: true });
    const acks = [];
    const nacks = [];
    ch.on('ack', (f) => acks.push(f));
    ch.on('nack', (f) => nacks.push(f));
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    const n = 50;
    for (let i = 0; i < n; i++) ch.sendToQueue(q.queue, Buffer.from(`c${i}`));
    await ch.waitForConfirms();
    assert.deepEqual(nacks, []);
    assert.deepEqual(confirmedTags(acks), Array.from({ length: n }, (_, i) => i + 1));
    for (const a of acks) assert.ok(a.deliveryTag >= 1 && a.deliveryTag <= n, `tag ${a.deliveryTag}`);
    assert.equal((await ch.checkQueue(q.queue)).messageCount, n);
});

h.brokerTest('confirm mode: each publish callback is called with no error', async (ctx) => {
    const conn = await ctx.connect();
    const ch = await h.openChannel(conn, { confirm: true });
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    const results = await Promise.all([0, 1, 2].map((i) => new Promise((resolve) => {
        ch.sendToQueue(q.queue, Buffer.from(`p${i}`), {}, (err) => resolve(err));
    })));
    assert.deepEqual(results, [null, null, null]);
});

h.brokerTest('confirm mode: delivery tags keep counting across batches', async (ctx) => {
    const conn = await ctx.connect();
    const ch = await h.openChannel(conn, { confirm: true });
    const acks = [];
    ch.on('ack', (f) => acks.push(f));
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    for (let i = 0; i < 3; i++) ch.sendToQueue(q.queue, Buffer.from('a'));
    await ch.waitForConfirms();
    const firstBatchMax = Math.max(...acks.map((a) => a.deliveryTag));
    assert.equal(firstBatchMax, 3);
    for (let i = 0; i < 2; i++) ch.sendToQueue(q.queue, Buffer.from('b'));
    await ch.waitForConfirms();
    assert.deepEqual(confirmedTags(acks), [1, 2, 3, 4, 5]);
});

h.brokerTest('confirm mode: unroutable mandatory publish gets basic.return before its basic.ack', async (ctx) => {
    const conn = await ctx.connect();
    const ch = await h.openChannel(conn, { confirm: true });
    const x = ctx.x();
    await ch.assertExchange(x, 'direct', { durable: false });
    const events = [];
    ch.on('return', (m) => events.push(`return ${m.fields.replyCode} ${m.content.toString()}`));
    ch.on('ack', (f) => events.push(`ack ${f.deliveryTag}`));
    ch.publish(x, 'nowhere', Buffer.from('r1'), { mandatory: true });
    await ch.waitForConfirms();
    assert.deepEqual(events, ['return 312 r1', 'ack 1']);
});

h.brokerTest('confirm mode: unroutable non-mandatory publish is simply acked', async (ctx) => {
    const conn = await ctx.connect();
    const ch = await h.openChannel(conn, { confirm: true });
    const x = ctx.x();
    await ch.assertExchange(x, 'fanout', { durable: false });
    const events = [];
    ch.on('return', () => events.push('return'));
    ch.on('ack', (f) => events.push(`ack ${f.deliveryTag}`));
    ch.publish(x, '', Buffer.from('void'));
    await ch.waitForConfirms();
    assert.deepEqual(events, ['ack 1']);
});

h.brokerTest('confirm.select twice on the same channel is accepted', async (ctx) => {
    const conn = await ctx.connect();
    const ch = await h.openChannel(conn, { confirm: true });
    const ok = await ch.rpc(METHOD.confirmSelect, { nowait: false }, METHOD.confirmSelectOk);
    assert.deepEqual(ok, {});
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    ch.sendToQueue(q.queue, Buffer.from('x'));
    await ch.waitForConfirms();
});

h.brokerTest('tx: publishes become visible only on commit', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    const tx = await h.openChannel(conn);
    await txSelect(tx);
    tx.sendToQueue(q, Buffer.from('t1'));
    tx.sendToQueue(q, Buffer.from('t2'));
    /* a round trip on the tx channel proves the publishes reached the broker */
    await tx.checkQueue(q);
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
    await txCommit(tx);
    const ok = await ch.checkQueue(q);
    assert.equal(ok.messageCount, 2);
    assert.equal((await ch.get(q, { noAck: true })).content.toString(), 't1');
});

h.brokerTest('tx: rollback discards publishes and the channel stays transactional', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    const tx = await h.openChannel(conn);
    await txSelect(tx);
    tx.sendToQueue(q, Buffer.from('gone'));
    await txRollback(tx);
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
    tx.sendToQueue(q, Buffer.from('kept'));
    await tx.checkQueue(q);
    assert.equal((await ch.checkQueue(q)).messageCount, 0, 'still uncommitted after rollback');
    await txCommit(tx);
    assert.equal((await ch.checkQueue(q)).messageCount, 1);
    assert.equal((await ch.get(q, { noAck: true })).content.toString(), 'kept');
});

h.brokerTest('tx: uncommitted publishes are discarded when the channel closes', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    const tx = await h.openChannel(conn);
    await txSelect(tx);
    tx.sendToQueue(q, Buffer.from('never'));
    await tx.close();
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
});

h.brokerTest('tx: an ack takes effect on commit', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    ch.sendToQueue(q, Buffer.from('m0'));
    ch.sendToQueue(q, Buffer.from('m1'));
    await h.waitForCount(ch, q, 2);
    const tx = await h.openChannel(conn);
    await txSelect(tx);
    const m0 = await tx.get(q);
    await tx.get(q);
    tx.ack(m0);
    await txCommit(tx);
    await tx.close();
    /* m0's ack was committed; only m1 comes back */
    await h.waitForCount(ch, q, 1);
    assert.equal((await ch.get(q, { noAck: true })).content.toString(), 'm1');
});

h.brokerTest('tx: a rolled-back ack is discarded and the message stays unacked', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    ch.sendToQueue(q, Buffer.from('m0'));
    await h.waitForCount(ch, q, 1);
    const tx = await h.openChannel(conn);
    await txSelect(tx);
    const m0 = await tx.get(q);
    tx.ack(m0);
    await txRollback(tx);
    assert.equal((await ch.checkQueue(q)).messageCount, 0, 'still unacked, not requeued by rollback');
    await tx.close();
    const back = await h.getWithin(ch, q, { noAck: true });
    assert.equal(back.content.toString(), 'm0');
    assert.equal(back.fields.redelivered, true);
});

h.brokerTest('tx: the ack of a rolled-back transaction can be sent again and committed', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    ch.sendToQueue(q, Buffer.from('m0'));
    await h.waitForCount(ch, q, 1);
    const tx = await h.openChannel(conn);
    await txSelect(tx);
    const m0 = await tx.get(q);
    tx.ack(m0);
    await txRollback(tx);
    tx.ack(m0);
    await txCommit(tx);
    await tx.close();
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
});

h.brokerTest('tx.commit without tx.select is channel.close 406 PRECONDITION_FAILED', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const res = await h.expectClose(conn, ch, () => txCommit(ch));
    h.assertChannelClose(res, 406, 'PRECONDITION_FAILED - ', 90, 20);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('tx.rollback without tx.select is channel.close 406 PRECONDITION_FAILED', async (ctx) => {
    const { conn, ch } = await ctx.open();
    const res = await h.expectClose(conn, ch, () => txRollback(ch));
    h.assertChannelClose(res, 406, 'PRECONDITION_FAILED - ', 90, 30);
});

h.brokerTest('confirm.select on a tx channel is channel.close 406', async (ctx) => {
    const { conn, ch } = await ctx.open();
    await txSelect(ch);
    const res = await h.expectClose(conn, ch,
        () => ch.rpc(METHOD.confirmSelect, { nowait: false }, METHOD.confirmSelectOk));
    h.assertChannelClose(res, 406, 'PRECONDITION_FAILED - ', 85, 10);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('tx.select on a confirm channel is channel.close 406', async (ctx) => {
    const conn = await ctx.connect();
    const ch = await h.openChannel(conn, { confirm: true });
    const res = await h.expectClose(conn, ch, () => txSelect(ch));
    h.assertChannelClose(res, 406, 'PRECONDITION_FAILED - ', 90, 10);
    await h.assertConnectionUsable(conn);
});

h.brokerTest('tx.select twice on the same channel is accepted', async (ctx) => {
    const { ch } = await ctx.open();
    await txSelect(ch);
    const ok = await txSelect(ch);
    assert.deepEqual(ok, {});
    await txCommit(ch);
});
