'use strict';
/*
 * Checklist H: errors stay contained. A channel error closes only that
 * channel; other channels, their consumers and the connection carry on.
 * A connection error ends every channel of that connection and no other.
 */
const assert = require('node:assert/strict');
const h = require('./helpers');

h.brokerTest('a run of different channel errors on one connection leaves it usable each time', async (ctx) => {
    const conn = await ctx.connect();
    const missing = h.uniqueName('missing');
    const failures = [
        [404, (ch) => ch.checkQueue(missing)],
        [404, (ch) => ch.publish(missing, 'k', Buffer.from('x'))],
        [403, (ch) => ch.assertExchange(`amq.${missing}`, 'direct')],
        [406, (ch) => ch.ack({ fields: { deliveryTag: 9 } })],
        [406, (ch) => ch.rpc(h.METHOD.txCommit, {}, h.METHOD.txCommitOk)],
    ];
    for (const [code, fail] of failures) {
        const ch = await h.openChannel(conn);
        const res = await h.expectClose(conn, ch, () => fail(ch));
        h.assertChannelClose(res, code);
        assert.equal(ch.closed, true);
        assert.equal(conn.closed, false);
    }
    await h.assertConnectionUsable(conn);
});

h.brokerTest('a channel error does not disturb a consumer on another channel', async (ctx) => {
    const conn = await ctx.connect();
    const good = await h.openChannel(conn);
    const q = await good.assertQueue('', { exclusive: true, durable: false });
    const inbox = await h.consumeInto(good, q.queue);
    good.sendToQueue(q.queue, Buffer.from('before'));
    const before = await inbox.take();
    assert.equal(before.content.toString(), 'before');

    const bad = await h.openChannel(conn);
    const res = await h.expectClose(conn, bad, () => bad.checkExchange(h.uniqueName('missing')));
    h.assertChannelClose(res, 404, 'NOT_FOUND - ');

    /* the good channel's unacked delivery and its consumer are intact */
    good.ack(before);
    good.sendToQueue(q.queue, Buffer.from('after'));
    const after = await inbox.take();
    assert.equal(after.content.toString(), 'after');
    assert.equal(after.fields.deliveryTag, 2);
    good.ack(after);
    assert.equal(good.closed, false);
    assert.deepEqual(good.errors, []);
    assert.equal((await good.checkQueue(q.queue)).consumerCount, 1);
});

h.brokerTest('a channel error on a consuming channel requeues its unacked messages', async (ctx) => {
    const conn = await ctx.connect();
    const ch = await h.openChannel(conn);
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    ch.sendToQueue(q, Buffer.from('held'));
    const inbox = await h.consumeInto(ch, q);
    await inbox.take();
    const res = await h.expectClose(conn, ch, () => ch.checkQueue(h.uniqueName('missing')));
    h.assertChannelClose(res, 404);
    const ch2 = await h.openChannel(conn);
    const back = await h.getWithin(ch2, q, { noAck: true });
    assert.equal(back.content.toString(), 'held');
    assert.equal(back.fields.redelivered, true);
});

h.brokerTest('a channel error removes that channel\'s consumers only', async (ctx) => {
    const conn = await ctx.connect();
    const setup = await h.openChannel(conn);
    const q = ctx.q();
    await setup.assertQueue(q, { durable: false });
    const doomed = await h.openChannel(conn);
    await doomed.consume(q, () => {});
    const survivor = await h.openChannel(conn);
    await survivor.consume(q, () => {});
    assert.equal((await setup.checkQueue(q)).consumerCount, 2);
    const res = await h.expectClose(conn, doomed, () => doomed.ack({ fields: { deliveryTag: 3 } }));
    h.assertChannelClose(res, 406);
    assert.equal((await setup.checkQueue(q)).consumerCount, 1);
});

h.brokerTest('the channel number of a channel closed by an error can be opened again', async (ctx) => {
    const conn = await ctx.connect();
    const ch = await h.openChannel(conn);
    const number = ch.ch;
    const res = await h.expectClose(conn, ch, () => ch.checkQueue(h.uniqueName('missing')));
    h.assertChannelClose(res, 404);
    const again = await h.openChannel(conn);
    assert.equal(again.ch, number);
    await again.checkExchange('amq.direct');
});

h.brokerTest('a connection error closes every channel of that connection', async (ctx) => {
    const conn = await ctx.connect();
    const a = await h.openChannel(conn);
    const b = await h.openChannel(conn);
    const res = await h.expectClose(conn, a, () => a.rpc(h.METHOD.basicRecover, { requeue: false },
        h.METHOD.basicRecoverOk));
    h.assertConnectionClose(res, 540);
    assert.equal(a.closed, true);
    assert.equal(b.closed, true);
    assert.equal(conn.closed, true);
});

h.brokerTest('a connection error on one connection leaves other connections and their consumers alone', async (ctx) => {
    const victim = await ctx.connect();
    const bystander = await ctx.connect();
    const bch = await h.openChannel(bystander);
    const q = await bch.assertQueue('', { exclusive: true, durable: false });
    const inbox = await h.consumeInto(bch, q.queue, { noAck: true });

    const vch = await h.openChannel(victim);
    const res = await h.expectClose(victim, vch,
        () => vch.rpc(h.METHOD.channelFlow, { active: false }, h.METHOD.channelFlowOk));
    h.assertConnectionClose(res, 540);

    bch.sendToQueue(q.queue, Buffer.from('unaffected'));
    assert.equal((await inbox.take()).content.toString(), 'unaffected');
    assert.deepEqual(bystander.errors, []);
    await h.assertConnectionUsable(bystander);
});

h.brokerTest('exclusive queues of a connection closed by an error are deleted', async (ctx) => {
    const victim = await ctx.connect();
    const vch = await h.openChannel(victim);
    const q = ctx.q('excl');
    await vch.assertQueue(q, { exclusive: true, durable: false });
    const tag = h.uniqueName('dup');
    await vch.consume(q, () => {}, { consumerTag: tag });
    const res = await h.expectClose(victim, vch, () => vch.consume(q, () => {}, { consumerTag: tag }));
    h.assertConnectionClose(res, 530);
    const { conn, ch } = await ctx.open();
    await h.waitForQueueGone(conn, q);
    await ch.checkExchange('amq.direct');
});
