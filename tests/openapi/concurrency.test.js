'use strict';
// The console under concurrency: read endpoints do not wait behind a writer
// that holds meta_lock during a slow broker call (they use the read-only
// connection pool), writers do; openApiMaxConnections bounds the open HTTP
// connections (more wait to be accepted). A tunnelSwitch without force holds the lock for its one-second
// traffic sample, which makes a deterministic slow writer.
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { MAIN, startCluster, stopCluster, call, sign } = require('./cluster');

let c;
let inst;
test.before(async () => {
  c = await startCluster(['openApiThreads=4', 'openApiTunnels=anyTunnel=10.1.0.1:9876']);
  inst = (await call(c, '/json/instance/create', {
    cluster: 'DefaultCluster', instanceName: 'conc-a', independentNaming: 'true',
    maxSendTps: '10', maxReceiveTps: '10',
  })).data.instanceId;
  assert.ok(inst);
});
test.after(async () => { await stopCluster(c); });

const timed = async p => { const t0 = Date.now(); const r = await p; return [r, Date.now() - t0]; };

test('reads do not queue behind a writer holding meta_lock; writers do', async () => {
  const slow = timed(call(c, '/json/vpcTunnel/tunnelSwitch', { instanceId: inst, tunnelType: 'anyTunnel' }));
  await new Promise(resolve => setTimeout(resolve, 200)); // the switch now samples traffic
  const [reads, readMs] = await timed(Promise.all([
    call(c, '/json/region/list'),
    call(c, '/json/instance/baseInfo', { instanceId: inst }),
    call(c, '/json/topic/listNames', { instanceId: inst }),
  ]));
  for (const r of reads) assert.equal(r.success, true, JSON.stringify(r));
  const [w, writeMs] = await timed(call(c, '/json/instance/update', { instanceId: inst, remark: 'x' }));
  const [s, slowMs] = await slow;
  assert.equal(s.success, true, JSON.stringify(s));
  assert.equal(w.success, true, JSON.stringify(w));
  assert.ok(slowMs >= 1000, `the switch sampled for ${slowMs} ms`);
  assert.ok(readMs < 600, `reads took ${readMs} ms while the writer held the lock`);
  assert.ok(readMs + writeMs >= 600, `the writer did not wait (${writeMs} ms)`);
});

// A raw keep-alive connection that sends one signed region/list and resolves
// with the response text, or with null when the server closes it first.
// (fetch would keep its own idle connections open and take the slots.)
function rawCall(sock) {
  return new Promise(resolve => {
    const p = { _accesskey: MAIN.ak, __preventCache: String(Date.now()) };
    p._signature = sign(p, MAIN.sk);
    const q = new URLSearchParams(p).toString();
    let buf = '';
    const onData = d => {
      buf += d.toString();
      if (/\r\n\r\n/.test(buf) && buf.includes('"success"')) { done(buf); }
    };
    const done = v => { sock.off('data', onData); resolve(v); };
    sock.on('data', onData);
    sock.once('close', () => done(null));
    sock.once('error', () => done(null));
    sock.write(`GET /json/region/list?${q} HTTP/1.1\r\nHost: x\r\n\r\n`);
  });
}

const connect = port => new Promise((resolve, reject) => {
  const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
  s.once('error', reject);
});

test('openApiMaxConnections bounds the open connections; more wait to be accepted', async () => {
  const lc = await startCluster(['openApiMaxConnections=4', 'openApiThreads=4']);
  const connect4 = () => connect(lc.httpPort);
  const socks = [];
  try {
    for (let i = 0; i < 4; i++) socks.push(await connect4());
    for (const s of socks) assert.match(await rawCall(s), /"success":true/);
    // The kernel completes the handshake, but the console does not accept a
    // fifth connection while four are open: its request waits.
    const extra = await connect4();
    const pending = rawCall(extra);
    const early = await Promise.race([pending, new Promise(resolve => setTimeout(() => resolve('waiting'), 700))]);
    assert.equal(early, 'waiting');
    socks.pop().destroy();
    const t0 = Date.now();
    assert.match(await pending, /"success":true/);
    const waited = Date.now() - t0;
    assert.ok(waited < 5000, `${waited} ms`);
    socks.push(extra);
  } finally {
    for (const s of socks) s.destroy();
    await stopCluster(lc);
  }
});
