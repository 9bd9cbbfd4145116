'use strict';
/*
 * amqps with amqplib against brokers this file starts itself (the binary
 * from WARREN_BIN, which launch.py sets; skipped when it is unset, as when the
 * suite runs against another broker): the server's certificate verified,
 * client certificates required and refused, EXTERNAL login, TLS 1.1 refused.
 * Certificates are made with the openssl command in a temporary folder.
 */
const assert = require('node:assert/strict');
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');
const amqp = require('amqplib');

const WARREN_BIN = process.env.WARREN_BIN;
const skip = WARREN_BIN ? false : 'WARREN_BIN is not set: no broker of our own to start';

let dir;
let broker;

function openssl(...args) {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeKey(name) {
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256',
        '-out', `${name}.key`);
}

function makeCa(name, subject) {
    makeKey(name);
    openssl('req', '-x509', '-new', '-key', `${name}.key`, '-subj', subject, '-days', '2',
        '-out', `${name}.pem`, '-addext', 'basicConstraints=critical,CA:true');
}

function makeCert(name, subject, { ca = 'ca', server = false } = {}) {
    makeKey(name);
    openssl('req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`);
    fs.writeFileSync(path.join(dir, `${name}.ext`), server
        ? 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'
        : 'extendedKeyUsage=clientAuth\n');
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`,
        '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
}

function read(name) {
    return fs.readFileSync(path.join(dir, name));
}

function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}

function portOpen(port) {
    return new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => {
            s.destroy();
            resolve(true);
        });
        s.once('error', () => resolve(false));
    });
}

/*
 * Client certificates optional (verify_peer), EXTERNAL offered before
 * PLAIN, and one user, ext-user, that may configure only queues named
 * "ext-user-*" (so a 403 text tells who logged in).
 */
async function startBroker() {
    const data = path.join(dir, 'data');
    const ctl = (...args) => execFileSync(WARREN_BIN, ['--data-dir', data, ...args],
        { stdio: ['ignore', 'pipe', 'pipe'] });
    ctl('add_user', 'ext-user', 'not-used-with-external');
    ctl('set_permissions', '-p', '/', 'ext-user', '^ext-user-.*', '.*', '.*');
    const port = await freePort();
    const sslPort = await freePort();
    const conf = path.join(dir, 'warren.conf');
    fs.writeFileSync(conf, [
        `listeners.tcp.default = 127.0.0.1:${port}`,
        `listeners.ssl.default = 127.0.0.1:${sslPort}`,
        `ssl_options.certfile = ${path.join(dir, 'server.pem')}`,
        `ssl_options.keyfile = ${path.join(dir, 'server.key')}`,
        `ssl_options.cacertfile = ${path.join(dir, 'ca.pem')}`,
        'ssl_options.verify = verify_peer',
        'ssl_options.fail_if_no_peer_cert = false',
        'auth_mechanisms.1 = EXTERNAL',
        'auth_mechanisms.2 = PLAIN',
        '',
    ].join('\n'));
    const log = fs.openSync(path.join(dir, 'broker.log'), 'a');
    const proc = spawn(WARREN_BIN, ['--config', conf, '--data-dir', data],
        { stdio: ['ignore', log, log], cwd: dir });
    proc.exited = new Promise((resolve) => proc.once('exit', (code, sig) => resolve({ code, sig })));
    const deadline = Date.now() + 30000;
    while (!(await portOpen(sslPort))) {
        if (proc.exitCode !== null || Date.now() > deadline) {
            proc.kill('SIGKILL');
            throw new Error(`broker did not start; its log:\n${read('broker.log')}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { proc, port, sslPort };
}

/* amqps options: trust ca, present cert (a name without extension) if given. */
function tlsOptions({ ca = 'ca.pem', cert, ...rest } = {}) {
    const o = { ca: [read(ca)], servername: 'localhost', ...rest };
    if (cert) {
        o.cert = read(`${cert}.pem`);
        o.key = read(`${cert}.key`);
    }
    return o;
}

async function connect(opts = {}) {
    const conn = await amqp.connect(`amqps://guest:guest@127.0.0.1:${broker.sslPort}/%2F`,
        tlsOptions(opts));
    conn.on('error', () => {});
    return conn;
}

async function roundtrip(conn) {
    const ch = await conn.createConfirmChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    const body = Buffer.from(`over TLS ${Date.now()}`);
    ch.sendToQueue(queue, body);
    await ch.waitForConfirms();
    const msg = await ch.get(queue, { noAck: true });
    assert.ok(msg, 'the message came back');
    assert.deepEqual(msg.content, body);
    await ch.close();
}

describe('TLS (amqps)', { skip }, () => {
    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-node-tls-'));
        makeCa('ca', '/CN=Warren Test CA');
        makeCert('server', '/CN=localhost', { server: true });
        makeCert('client', '/C=US/O=Warren Test/CN=tls-client');
        makeCert('ext-user', '/CN=ext-user');
        makeCert('nobody', '/CN=nobody');
        makeCa('rogue-ca', '/CN=Rogue CA');
        makeCert('rogue-client', '/CN=ext-user', { ca: 'rogue-ca' });
        broker = await startBroker();
    });

    after(async () => {
        if (broker) {
            broker.proc.kill('SIGTERM');
            const { code, sig } = await broker.proc.exited;
            const log = read('broker.log').toString();
            fs.rmSync(dir, { recursive: true, force: true });
            assert.equal(code, 0, `broker exited with ${code ?? sig} after SIGTERM; its log:\n` +
                log.split('\n').slice(-60).join('\n'));
        } else if (dir) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    test('the client verifies the server certificate (CA and host name)', async () => {
        const conn = await connect();
        await roundtrip(conn);
        await conn.close();
    });

    test('a client trusting another CA refuses the server', async () => {
        await assert.rejects(connect({ ca: 'rogue-ca.pem' }), (err) => {
            assert.match(err.code, /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
            return true;
        });
    });

    test('a client certificate from the CA is accepted', async () => {
        const conn = await connect({ cert: 'client' });
        await roundtrip(conn);
        await conn.close();
    });

    test('a client certificate from another CA is refused in the handshake', async () => {
        await assert.rejects(connect({ cert: 'rogue-client' }), (err) => {
            assert.match(`${err.code} ${err.message}`, /UNKNOWN_CA|unknown ca/i);
            return true;
        });
    });

    test('EXTERNAL logs in as the certificate CN', async () => {
        const conn = await connect({ cert: 'ext-user', credentials: amqp.credentials.external() });
        conn.on('error', () => {});
        const ch = await conn.createChannel();
        ch.on('error', () => {});
        await ch.assertQueue('ext-user-q', { exclusive: true });
        await assert.rejects(ch.assertQueue('someone-else-q'), (err) => {
            assert.equal(err.code, 403);
            assert.match(err.message, /refused for user 'ext-user'/);
            return true;
        });
        await conn.close();
    });

    test('EXTERNAL with a CN that is no user is refused with 403', async () => {
        await assert.rejects(
            connect({ cert: 'nobody', credentials: amqp.credentials.external() }),
            (err) => {
                assert.match(err.message, /403 \(ACCESS-REFUSED\)/);
                return true;
            });
    });

    test('EXTERNAL is not offered without a client certificate', async () => {
        await assert.rejects(connect({ credentials: amqp.credentials.external() }),
            (err) => {
                assert.match(err.message, /EXTERNAL/);
                assert.doesNotMatch(err.message, /TLS|SSL/);
                return true;
            });
    });

    for (const version of ['TLSv1', 'TLSv1.1']) {
        test(`${version} is refused by the broker`, async () => {
            /* SECLEVEL=0: Node's OpenSSL must offer the old version, so the refusal is the broker's */
            await assert.rejects(connect({
                minVersion: version, maxVersion: version, ciphers: 'DEFAULT:@SECLEVEL=0',
            }), (err) => {
                assert.match(`${err.code} ${err.message}`, /ALERT_PROTOCOL_VERSION|alert protocol version/i);
                return true;
            });
        });
    }

    test('TLS 1.2 and TLS 1.3 both work', async () => {
        for (const version of ['TLSv1.2', 'TLSv1.3']) {
            const conn = await connect({ minVersion: version, maxVersion: version });
            assert.equal(conn.connection.stream.getProtocol(), version);
            await roundtrip(conn);
            await conn.close();
        }
    });
});
