'use strict';
/*
 * Shared helpers for the amqplib interop suite: the broker address, unique
 * names, per-test cleanup, message inboxes, and capture of channel- versus
 * connection-level errors so tests can assert exactly which close happened.
 */
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const net = require('node:net');
const { after, test } = require('node:test');
const amqp = require('amqplib');

const HOST = process.env.INTEROP_HOST || '127.0.0.1';
const PORT = Number(process.env.INTEROP_PORT || 5672);

/* Every run gets its own prefix so concurrent suites never share names. */
const PREFIX = `node-${crypto.randomBytes(4).toString('hex')}-`;
let nameCounter = 0;

/* How long to wait for something that should arrive, and for silence. */
const ARRIVE_MS = 4000;
const SILENCE_MS = 400;
const TEST_TIMEOUT_MS = 20000;

/* Method ids (class << 16 | method) for what amqplib has no API call for. */
const METHOD = {
    channelFlow: (20 << 16) | 20,
    channelFlowOk: (20 << 16) | 21,
    basicQos: (60 << 16) | 10,
    basicQosOk: (60 << 16) | 11,
    basicRecover: (60 << 16) | 110,
    basicRecoverOk: (60 << 16) | 111,
    confirmSelect: (85 << 16) | 10,
    confirmSelectOk: (85 << 16) | 11,
    txSelect: (90 << 16) | 10,
    txSelectOk: (90 << 16) | 11,
    txCommit: (90 << 16) | 20,
    txCommitOk: (90 << 16) | 21,
    txRollback: (90 << 16) | 30,
    txRollbackOk: (90 << 16) | 31,
};

function uniqueName(tag) {
    nameCounter += 1;
    return `${PREFIX}${tag}-${nameCounter}`;
}

function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

function brokerUrl({ user = 'guest', pass = 'guest', vhost = '/', params = {} } = {}) {
    const query = new URLSearchParams(params).toString();
    return `amqp://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@${HOST}:${PORT}/` +
        `${encodeURIComponent(vhost)}${query ? `?${query}` : ''}`;
}

/*
 * Open a connection that records its errors and close instead of letting an
 * unhandled 'error' event crash the test process.
 */
async function connect(opts = {}, socketOptions = undefined) {
    const conn = await amqp.connect(brokerUrl(opts), socketOptions);
    conn.errors = [];
    conn.closed = false;
    conn.on('error', (err) => conn.errors.push(err));
    conn.on('close', () => {
        conn.closed = true;
    });
    return conn;
}

/* Same for channels: a channel 'error' without a listener kills the socket. */
function watchChannel(ch) {
    ch.errors = [];
    ch.closed = false;
    ch.on('error', (err) => ch.errors.push(err));
    ch.on('close', () => {
        ch.closed = true;
    });
    return ch;
}

async function openChannel(conn, { confirm = false } = {}) {
    const ch = confirm ? await conn.createConfirmChannel() : await conn.createChannel();
    return watchChannel(ch);
}

async function closeQuietly(thing) {
    try {
        await thing.close();
    } catch (_e) {
        /* already closed by the broker or by the test */
    }
}

/* amqplib renders a close as '<code> (<NAME>) with message "<reply text>"'. */
function replyTextOf(message) {
    const m = /with message "([\s\S]*)"$/.exec(message);
    return m ? m[1] : message;
}

/*
 * Run `action` and wait for the broker to close the channel or the
 * connection. Resolves to { level: 'channel' | 'connection', code, text,
 * classId, methodId }. The action itself may reject (an RPC whose channel
 * was closed); that rejection is expected and only the close counts.
 */
async function expectClose(conn, ch, action, timeoutMs = ARRIVE_MS) {
    let cleanup = () => {};
    const outcome = new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
            cleanup();
            reject(new Error(`no channel or connection close within ${timeoutMs} ms`));
        }, timeoutMs);
        const onChannel = (err) => {
            cleanup();
            resolve({ level: 'channel', code: err.code, text: replyTextOf(err.message),
                classId: err.classId, methodId: err.methodId });
        };
        const onConnection = (err) => {
            cleanup();
            resolve({ level: 'connection', code: err.code, text: replyTextOf(err.message) });
        };
        cleanup = () => {
            clearTimeout(timer);
            if (ch) ch.removeListener('error', onChannel);
            conn.removeListener('error', onConnection);
        };
        if (ch) ch.on('error', onChannel);
        conn.on('error', onConnection);
    });
    try {
        await action();
    } catch (_e) {
        /* the close event carries the details */
    }
    const result = await outcome;
    if (result.level === 'connection' && !conn.closed) {
        await new Promise((resolve) => conn.once('close', resolve));
    }
    return result;
}

function assertChannelClose(result, code, textPrefix, classId, methodId) {
    assert.equal(result.level, 'channel', `expected a channel close, got ${JSON.stringify(result)}`);
    assert.equal(result.code, code, `reply code: ${JSON.stringify(result)}`);
    if (textPrefix !== undefined) {
        assert.ok(result.text.startsWith(textPrefix), `reply text "${result.text}" should start with "${textPrefix}"`);
    }
    if (classId !== undefined) assert.equal(result.classId, classId, 'class id of the failed method');
    if (methodId !== undefined) assert.equal(result.methodId, methodId, 'method id of the failed method');
}

function assertConnectionClose(result, code, textPrefix) {
    assert.equal(result.level, 'connection', `expected a connection close, got ${JSON.stringify(result)}`);
    assert.equal(result.code, code, `reply code: ${JSON.stringify(result)}`);
    if (textPrefix !== undefined) {
        assert.ok(result.text.startsWith(textPrefix), `reply text "${result.text}" should start with "${textPrefix}"`);
    }
}

/* After a channel error the connection must still do real work. */
async function assertConnectionUsable(conn) {
    assert.equal(conn.closed, false, 'connection should still be open');
    const ch = await openChannel(conn);
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    ch.sendToQueue(q.queue, Buffer.from('still alive'));
    const got = await getWithin(ch, q.queue);
    assert.equal(got.content.toString(), 'still alive');
    ch.ack(got);
    await ch.deleteQueue(q.queue);
    await ch.close();
}

/* basic.get until a message arrives (publishes are asynchronous). */
async function getWithin(ch, queue, opts = {}, timeoutMs = ARRIVE_MS) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const m = await ch.get(queue, opts);
        if (m) return m;
        if (Date.now() > deadline) throw new Error(`no message on ${queue} within ${timeoutMs} ms`);
        await sleep(20);
    }
}

/* Poll `cond` until it is true or the time is up (then the caller's assert fails). */
async function waitUntil(cond, timeoutMs = ARRIVE_MS) {
    const deadline = Date.now() + timeoutMs;
    while (!cond() && Date.now() < deadline) await sleep(20);
}

/* Poll a passive declare until the message count reaches `count`. */
async function waitForCount(ch, queue, count, timeoutMs = ARRIVE_MS) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
        last = await ch.checkQueue(queue);
        if (last.messageCount === count) return last;
        if (Date.now() > deadline) {
            throw new Error(`queue ${queue} has ${last.messageCount} messages, expected ${count}`);
        }
        await sleep(20);
    }
}

/*
 * Wait until passive declare of `queue` fails with 404 NOT_FOUND (cleanup of
 * a closed connection's exclusive queues need not finish before close-ok).
 */
async function waitForQueueGone(conn, queue, timeoutMs = ARRIVE_MS) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const probe = await openChannel(conn);
        try {
            await probe.checkQueue(queue);
        } catch (err) {
            assert.equal(err.code, 404, `passive declare of ${queue}: ${err.message}`);
            assert.match(err.message, /"NOT_FOUND - /);
            assert.equal(conn.closed, false, 'a missing queue is a channel error only');
            return;
        }
        await probe.close();
        if (Date.now() > deadline) assert.fail(`queue ${queue} still exists after ${timeoutMs} ms`);
        await sleep(50);
    }
}

/*
 * A queue of delivered items (messages, returns, cancels) that tests can
 * await one at a time, or assert that nothing more arrives.
 */
class Inbox {
    constructor() {
        this.items = [];
        this.waiters = [];
    }

    push(item) {
        const w = this.waiters.shift();
        if (w) w(item);
        else this.items.push(item);
    }

    take(timeoutMs = ARRIVE_MS) {
        if (this.items.length > 0) return Promise.resolve(this.items.shift());
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                const i = this.waiters.indexOf(waiter);
                if (i >= 0) this.waiters.splice(i, 1);
                reject(new Error(`nothing arrived within ${timeoutMs} ms`));
            }, timeoutMs);
            const waiter = (item) => {
                clearTimeout(timer);
                resolve(item);
            };
            this.waiters.push(waiter);
        });
    }

    async takeN(n, timeoutMs = ARRIVE_MS) {
        const out = [];
        for (let i = 0; i < n; i++) out.push(await this.take(timeoutMs));
        return out;
    }

    async expectNone(ms = SILENCE_MS) {
        await sleep(ms);
        assert.equal(this.items.length, 0, `expected nothing, got ${this.items.length} item(s)`);
    }
}

/* Consume `queue` into an Inbox; a broker-sent cancel arrives as null. */
async function consumeInto(ch, queue, options = {}) {
    const inbox = new Inbox();
    const ok = await ch.consume(queue, (m) => inbox.push(m), options);
    inbox.consumerTag = ok.consumerTag;
    return inbox;
}

/*
 * Per-test context: connections opened through it are closed at the end,
 * and queues/exchanges named through it are deleted from a fresh connection
 * (after the test's own connections are gone, so exclusivity can't block).
 */
class Ctx {
    constructor() {
        this.conns = [];
        this.queues = new Set();
        this.exchanges = new Set();
    }

    async connect(opts, socketOptions) {
        const conn = await connect(opts, socketOptions);
        this.conns.push(conn);
        return conn;
    }

    /* A connection plus one channel, the common case. */
    async open(opts) {
        const conn = await this.connect(opts);
        const ch = await openChannel(conn);
        return { conn, ch };
    }

    q(tag = 'q') {
        const name = uniqueName(tag);
        this.queues.add(name);
        return name;
    }

    x(tag = 'x') {
        const name = uniqueName(tag);
        this.exchanges.add(name);
        return name;
    }

    async cleanup() {
        for (const conn of this.conns) await closeQuietly(conn);
        if (this.queues.size === 0 && this.exchanges.size === 0) return;
        const admin = await adminConnection();
        let ch = await openChannel(admin);
        const drop = async (fn) => {
            try {
                await fn(ch);
            } catch (_e) {
                if (ch.closed) ch = await openChannel(admin);
            }
        };
        for (const q of this.queues) await drop((c) => c.deleteQueue(q));
        for (const x of this.exchanges) await drop((c) => c.deleteExchange(x));
        await closeQuietly(ch);
    }
}

/* One connection per test file for cleanup, closed when the file is done. */
let admin = null;

async function adminConnection() {
    if (admin === null || admin.closed) admin = await connect();
    return admin;
}

after(async () => {
    if (admin !== null) await closeQuietly(admin);
    admin = null;
});

/* A node:test case with a timeout and a Ctx that is always cleaned up. */
function brokerTest(name, fn, { timeout = TEST_TIMEOUT_MS } = {}) {
    test(name, { timeout }, async () => {
        const ctx = new Ctx();
        try {
            await fn(ctx);
        } finally {
            await ctx.cleanup();
        }
    });
}

function sha256(buf) {
    return crypto.createHash('sha256').update(buf).digest('hex');
}

/*
 * Record the raw frames a connection sends or receives after this call, by
 * wrapping its socket's read() and write(). Returns { frames() } which
 * parses what was captured into { type, channel, payload } records.
 */
function tapFrames(conn, direction) {
    const stream = conn.connection.stream;
    const chunks = [];
    if (direction === 'in') {
        const read = stream.read.bind(stream);
        stream.read = (...args) => {
            const chunk = read(...args);
            if (chunk) chunks.push(Buffer.from(chunk));
            return chunk;
        };
    } else {
        const write = stream.write.bind(stream);
        stream.write = (chunk, ...args) => {
            chunks.push(Buffer.from(chunk));
            return write(chunk, ...args);
        };
    }
    return {
        frames() {
            const buf = Buffer.concat(chunks);
            const out = [];
            let off = 0;
            while (off + 7 <= buf.length) {
                const size = buf.readUInt32BE(off + 3);
                if (off + 8 + size > buf.length) break;
                out.push({ type: buf[off], channel: buf.readUInt16BE(off + 1),
                    payload: buf.subarray(off + 7, off + 7 + size) });
                off += 8 + size;
            }
            return out;
        },
    };
}

/*
 * A bare-socket handshake for the cases where amqplib hides the broker's
 * answer (it reports an unexpected connection.close during connection.open
 * without its reply code, and always advertises authentication_failure_close).
 * Resolves to { opened: true }, { close: { code, text, classId, methodId } }
 * or { socketClosed: true }.
 */
function rawHandshake({ user = 'guest', pass = 'guest', vhost = '/', authFailureClose = true } = {}) {
    const shortstr = (s) => {
        const b = Buffer.from(s, 'utf8');
        return Buffer.concat([Buffer.from([b.length]), b]);
    };
    const longstr = (b) => {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(b.length);
        return Buffer.concat([len, b]);
    };
    const frameOf = (cls, meth, args) => {
        const head = Buffer.alloc(11);
        head[0] = 1;
        head.writeUInt16BE(0, 1);
        head.writeUInt32BE(4 + args.length, 3);
        head.writeUInt16BE(cls, 7);
        head.writeUInt16BE(meth, 9);
        return Buffer.concat([head, args, Buffer.from([0xce])]);
    };
    const capabilities = authFailureClose
        ? Buffer.concat([shortstr('authentication_failure_close'), Buffer.from('t\x01', 'latin1')])
        : Buffer.alloc(0);
    const clientProps = longstr(Buffer.concat([shortstr('capabilities'), Buffer.from('F', 'latin1'),
        longstr(capabilities)]));
    const startOk = Buffer.concat([clientProps, shortstr('PLAIN'),
        longstr(Buffer.from(`\0${user}\0${pass}`, 'utf8')), shortstr('en_US')]);
    const open = Buffer.concat([shortstr(vhost), shortstr(''), Buffer.from([0])]);

    return new Promise((resolve, reject) => {
        const sock = net.connect(PORT, HOST);
        let buf = Buffer.alloc(0);
        let done = false;
        const finish = (value, err) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            sock.destroy();
            if (err) reject(err);
            else resolve(value);
        };
        /* RabbitMQ waits a few seconds before dropping a failed login */
        const timer = setTimeout(() => finish(null, new Error('raw handshake timed out')), 2 * ARRIVE_MS);
        sock.on('error', (err) => {
            if (err.code === 'ECONNRESET' || err.code === 'EPIPE') finish({ socketClosed: true });
            else finish(null, err);
        });
        sock.on('close', () => finish({ socketClosed: true }));
        sock.on('connect', () => sock.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')));
        sock.on('data', (data) => {
            buf = Buffer.concat([buf, data]);
            while (buf.length >= 7 && buf.length >= 8 + buf.readUInt32BE(3)) {
                const size = buf.readUInt32BE(3);
                const type = buf[0];
                const payload = buf.subarray(7, 7 + size);
                buf = buf.subarray(8 + size);
                if (type !== 1) continue;
                const cls = payload.readUInt16BE(0);
                const meth = payload.readUInt16BE(2);
                const args = payload.subarray(4);
                if (cls === 10 && meth === 10) {
                    sock.write(frameOf(10, 11, startOk));
                } else if (cls === 10 && meth === 30) {
                    /* accept the broker's channel-max/frame-max/heartbeat as offered */
                    sock.write(frameOf(10, 31, args.subarray(0, 8)));
                    sock.write(frameOf(10, 40, open));
                } else if (cls === 10 && meth === 41) {
                    finish({ opened: true });
                } else if (cls === 10 && meth === 50) {
                    const textLen = args[2];
                    const close = {
                        code: args.readUInt16BE(0),
                        text: args.toString('utf8', 3, 3 + textLen),
                        classId: args.readUInt16BE(3 + textLen),
                        methodId: args.readUInt16BE(5 + textLen),
                    };
                    sock.write(frameOf(10, 51, Buffer.alloc(0)));
                    finish({ close });
                }
            }
        });
    });
}

/*
 * Field tables with their wire types kept. amqplib decodes every integer
 * width to a plain number, but header layouts written by the broker (x-death
 * counts are longs, its time a timestamp) must be checked type and all, so
 * tests decode the raw content-header frames themselves. Each value becomes
 * { type: '<AMQP type letter>', value }, tables and arrays holding typed
 * values in turn.
 */
function decodeTypedValue(buf, start) {
    const type = String.fromCharCode(buf[start]);
    let off = start + 1;
    let value;
    const sized = () => {
        const len = buf.readUInt32BE(off);
        off += 4 + len;
        return buf.subarray(off - len, off);
    };
    switch (type) {
    case 't': value = buf[off] !== 0; off += 1; break;
    case 'b': value = buf.readInt8(off); off += 1; break;
    case 'B': value = buf.readUInt8(off); off += 1; break;
    case 's': value = buf.readInt16BE(off); off += 2; break;
    case 'u': value = buf.readUInt16BE(off); off += 2; break;
    case 'I': value = buf.readInt32BE(off); off += 4; break;
    case 'i': value = buf.readUInt32BE(off); off += 4; break;
    case 'l': value = Number(buf.readBigInt64BE(off)); off += 8; break;
    case 'T': value = Number(buf.readBigUInt64BE(off)); off += 8; break;
    case 'f': value = buf.readFloatBE(off); off += 4; break;
    case 'd': value = buf.readDoubleBE(off); off += 8; break;
    case 'D': value = { places: buf[off], digits: buf.readUInt32BE(off + 1) }; off += 5; break;
    case 'S': value = sized().toString('utf8'); break;
    case 'x': value = Buffer.from(sized()); break;
    case 'F': value = decodeTypedTable(sized()); break;
    case 'A': {
        const items = sized();
        value = [];
        for (let i = 0; i < items.length;) {
            const [item, next] = decodeTypedValue(items, i);
            value.push(item);
            i = next;
        }
        break;
    }
    case 'V': value = null; break;
    default: throw new Error(`unknown field type '${type}'`);
    }
    return [{ type, value }, off];
}

function decodeTypedTable(buf) {
    const table = {};
    for (let off = 0; off < buf.length;) {
        const keyLen = buf[off];
        const key = buf.toString('utf8', off + 1, off + 1 + keyLen);
        const [value, next] = decodeTypedValue(buf, off + 1 + keyLen);
        table[key] = value;
        off = next;
    }
    return table;
}

const PROPERTY_NAMES = ['contentType', 'contentEncoding', 'headers', 'deliveryMode', 'priority',
    'correlationId', 'replyTo', 'expiration', 'messageId', 'timestamp', 'type', 'userId',
    'appId', 'clusterId'];

/* A content-header frame payload as its present properties; headers typed. */
function parseContentHeader(payload) {
    const flags = payload.readUInt16BE(12);
    let off = 14;
    const props = {};
    PROPERTY_NAMES.forEach((name, i) => {
        if (!(flags & (1 << (15 - i)))) return;
        if (name === 'headers') {
            const len = payload.readUInt32BE(off);
            props.headers = decodeTypedTable(payload.subarray(off + 4, off + 4 + len));
            off += 4 + len;
        } else if (name === 'deliveryMode' || name === 'priority') {
            props[name] = payload[off];
            off += 1;
        } else if (name === 'timestamp') {
            props[name] = Number(payload.readBigUInt64BE(off));
            off += 8;
        } else {
            const len = payload[off];
            props[name] = payload.toString('utf8', off + 1, off + 1 + len);
            off += 1 + len;
        }
    });
    return props;
}

/*
 * The content headers `conn` receives from now on, oldest first, parsed by
 * parseContentHeader. Call right after connecting, before any delivery.
 */
function tapContentHeaders(conn) {
    const tap = tapFrames(conn, 'in');
    return () => tap.frames().filter((f) => f.type === 2).map((f) => parseContentHeader(f.payload));
}

/* Publish on a confirm channel; resolves to 'ack' or 'nack'. */
function publishConfirmed(ch, exchange, routingKey, body, options = {}) {
    return new Promise((resolve) => {
        ch.publish(exchange, routingKey, Buffer.from(body), options, (err) => resolve(err ? 'nack' : 'ack'));
    });
}

/* Take every ready message off `queue` with no-ack basic.get. */
async function drainQueue(ch, queue) {
    const out = [];
    for (;;) {
        const m = await ch.get(queue, { noAck: true });
        if (!m) return out;
        out.push(m);
    }
}

/*
 * Check the typed headers of a dead-lettered message (from
 * tapContentHeaders): x-death entry by entry, most recent first, every
 * field with its wire type and nothing extra; `time` must be a timestamp in
 * seconds (compared loosely with this machine's clock, only to catch a
 * wrong unit). `first` is what x-first-death-* must say.
 */
function assertXDeath(headers, expected, first) {
    const xdeath = headers['x-death'];
    assert.ok(xdeath, 'x-death header present');
    assert.equal(xdeath.type, 'A', 'x-death is an array');
    assert.equal(xdeath.value.length, expected.length, 'number of x-death entries');
    const nowSec = Date.now() / 1000;
    xdeath.value.forEach((entry, i) => {
        const want = expected[i];
        assert.equal(entry.type, 'F', `x-death[${i}] is a table`);
        const { time, ...rest } = entry.value;
        assert.equal(time && time.type, 'T', `x-death[${i}].time is a timestamp`);
        assert.ok(Math.abs(time.value - nowSec) < 300, `x-death[${i}].time ${time.value} is in seconds`);
        const fields = {
            count: { type: 'l', value: want.count },
            reason: { type: 'S', value: want.reason },
            queue: { type: 'S', value: want.queue },
            exchange: { type: 'S', value: want.exchange },
            'routing-keys': { type: 'A', value: want.routingKeys.map((k) => ({ type: 'S', value: k })) },
        };
        if (want.originalExpiration !== undefined) {
            fields['original-expiration'] = { type: 'S', value: want.originalExpiration };
        }
        assert.deepEqual(rest, fields, `x-death[${i}]`);
    });
    assert.deepEqual(headers['x-first-death-reason'], { type: 'S', value: first.reason });
    assert.deepEqual(headers['x-first-death-queue'], { type: 'S', value: first.queue });
    assert.deepEqual(headers['x-first-death-exchange'], { type: 'S', value: first.exchange });
}

module.exports = {
    ARRIVE_MS,
    HOST,
    METHOD,
    PORT,
    PREFIX,
    SILENCE_MS,
    Inbox,
    assertChannelClose,
    assertConnectionClose,
    assertConnectionUsable,
    assertXDeath,
    brokerTest,
    brokerUrl,
    closeQuietly,
    connect,
    consumeInto,
    decodeTypedTable,
    drainQueue,
    expectClose,
    getWithin,
    openChannel,
    parseContentHeader,
    publishConfirmed,
    rawHandshake,
    sha256,
    sleep,
    tapContentHeaders,
    tapFrames,
    uniqueName,
    waitForCount,
    waitForQueueGone,
    waitUntil,
    watchChannel,
};
