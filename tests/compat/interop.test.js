'use strict';
// Interop between the C SDK (libons, through tests/interop/ons_peer.c) and
// ali-ons: messages produced by one are consumed by the other, both ways,
// with tag, key, user properties, body, bornTimestamp, msgId and delivery
// time intact (issue 4).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const fs = require('node:fs');
const readline = require('node:readline');
const { spawn, execFile } = require('node:child_process');
const { startBroker, BROKER_BIN } = require('./broker');
const { Clients, scenario, makeMessage, waitFor, uniqueName } = require('./clients');

const QUEUES = 4;
const PEER = process.env.TERN_ONS_PEER || path.join(path.dirname(BROKER_BIN), 'ons_peer');
const DELAY_MS = 3000;

// Runs `ons_peer produce ...`; resolves with the SENT lines.
function onsProduce(ns, topic, n, run, delayMs = 0) {
  return new Promise((resolve, reject) => {
    execFile(PEER, [ 'produce', ns, topic, String(n), run, String(delayMs) ], { timeout: 30000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`ons_peer produce: ${err.message}\n${stderr}`));
        const sent = stdout.trim().split('\n').filter(l => l.startsWith('SENT ')).map(l => {
          const [ , i, msgId, at ] = l.split(' ');
          return { i: Number(i), msgId, at: Number(at) };
        });
        resolve(sent);
      });
  });
}

const unhex = h => (h === '-' ? '' : Buffer.from(h, 'hex').toString('utf8'));

// Starts `ons_peer consume ...`; resolves once it printed READY. got fills with
// the decoded GOT lines; done resolves with the exit code.
function onsConsume(ns, topic, group, n, timeoutMs) {
  const child = spawn(PEER, [ 'consume', ns, topic, group, String(n), String(timeoutMs) ],
    { stdio: [ 'ignore', 'pipe', 'pipe' ] });
  let stderr = '';
  child.stderr.on('data', d => { stderr += d; });
  const got = [];
  const done = new Promise(resolve => child.on('exit', code => resolve(code)));
  const ready = new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).on('line', line => {
      if (line === 'READY') return resolve();
      if (!line.startsWith('GOT ')) return;
      const f = line.split(' ');
      const props = {};
      if (f[9] !== '-') {
        for (const kv of f[9].split('&')) {
          const [ k, v ] = kv.split('=');
          props[unhex(k)] = unhex(v);
        }
      }
      got.push({
        at: Number(f[1]), msgId: f[2], tag: f[3], key: f[4], bornTimestamp: Number(f[5]),
        startDeliverTime: Number(f[6]), reconsumeTimes: Number(f[7]), body: unhex(f[8]), props,
      });
    });
    child.on('exit', code => reject(new Error(`ons_peer consume exited ${code}: ${stderr}`)));
  });
  return { child, got, ready, done, stderr: () => stderr };
}

describe('interop: libons and ali-ons (issue 4)', () => {
  let broker;
  before(async () => {
    assert.ok(fs.existsSync(PEER), `${PEER} not built (cmake --build build --target ons_peer)`);
    broker = await startBroker();
  });
  after(async () => {
    if (broker) { await broker.stop(); broker.cleanup(); }
  });

  it('libons produces, ali-ons consumes: tag, key, properties, body, msgId, delivery time', { timeout: 90000 }, async () => {
    await scenario(broker, async cl => {
      const topic = uniqueName('T_c2n');
      const run = uniqueName('r');
      const admin = await cl.admin();
      await admin.createTopic(topic, QUEUES);
      const received = new Map();
      const consumer = await cl.consumer({
        group: uniqueName('G_c2n'), topic,
        onMessage: msg => received.set(msg.keys, { msg, at: Date.now() }),
      });
      await waitFor(() => Clients.assignedQueues(consumer, topic).length === QUEUES, 20000,
        'ali-ons consumer to be assigned every queue');

      const N = 10;
      const sent = await onsProduce(broker.namesrvAddr, topic, N, run);
      const timed = await onsProduce(broker.namesrvAddr, topic, 2, `${run}-t`, DELAY_MS);
      assert.equal(sent.length, N);
      await waitFor(() => received.size >= N + 2, 30000, () => `${N + 2} messages (have ${received.size})`);

      for (const s of sent) {
        const got = received.get(`k-${s.i}-${run}`);
        assert.ok(got, `message ${s.i} received by ali-ons`);
        const m = got.msg;
        assert.equal(m.topic, topic);
        assert.equal(m.tags, `Tag${s.i % 2}`, `message ${s.i} tag`);
        assert.equal(m.body.toString('utf8'), `ons-${s.i}-${run}`, `message ${s.i} body`);
        assert.equal(m.properties.seq, String(s.i), `message ${s.i} property seq`);
        assert.equal(m.properties.run, run, `message ${s.i} property run`);
        assert.equal(m.properties.lang, 'c', `message ${s.i} property lang`);
        // libons reports the product's Message ID, the client-generated UNIQ_KEY
        // (Java's getMsgId()); ali-ons shows the offset id and keeps UNIQ_KEY.
        assert.equal(m.properties.UNIQ_KEY, s.msgId, `message ${s.i}: UNIQ_KEY equals libons' send result id`);
        assert.match(m.msgId, /^[0-9A-F]{32}$/, `message ${s.i}: ali-ons offset msgId`);
        assert.ok(Math.abs(m.bornTimestamp - s.at) < 2000, `message ${s.i} bornTimestamp ${m.bornTimestamp} near send ${s.at}`);
      }
      for (const s of timed) {
        const got = received.get(`k-${s.i}-${run}-t`);
        assert.ok(got, `timed message ${s.i} received`);
        const due = Number(got.msg.properties.__STARTDELIVERTIME);
        assert.ok(due >= s.at + DELAY_MS - 50 && due <= s.at + DELAY_MS + 50,
          `timed message ${s.i}: __STARTDELIVERTIME ${due} is libons' send time + ${DELAY_MS}`);
        assert.ok(got.at >= due, `timed message ${s.i} delivered ${due - got.at} ms early`);
        console.log(`# libons startDeliverTime: ali-ons got it ${got.at - due} ms after due`);
      }
    });
  });

  it('ali-ons produces, libons consumes: tag, key, properties, body, msgId, delivery time', { timeout: 90000 }, async () => {
    await scenario(broker, async cl => {
      const topic = uniqueName('T_n2c');
      const group = uniqueName('G_n2c');
      const run = uniqueName('r');
      const admin = await cl.admin();
      await admin.createTopic(topic, QUEUES);
      const N = 10;
      const peer = onsConsume(broker.namesrvAddr, topic, group, N + 2, 60000);
      try {
        await peer.ready;
        // The C consumer pulls every queue once it has rebalanced; a new group on a
        // topic whose first file still exists starts at offset 0, so nothing is missed.
        const producer = await cl.producer();
        const sent = [];
        for (let i = 0; i < N; i++) {
          const at = Date.now();
          const msg = makeMessage(topic, {
            tag: `Tag${i % 2}`, body: `ali-${i}-${run}`, keys: [ `k-${i}-${run}` ],
            props: { seq: String(i), run, lang: 'node' },
          });
          const r = await producer.send(msg);
          assert.equal(r.sendStatus, 'SEND_OK');
          sent.push({ i, at });
        }
        const timed = [];
        for (let i = 0; i < 2; i++) {
          const at = Date.now();
          const due = at + DELAY_MS;
          const r = await producer.send(makeMessage(topic, {
            tag: 'Later', body: `late-${i}-${run}`, keys: [ `t-${i}-${run}` ], props: { run }, startDeliverTime: due,
          }));
          assert.equal(r.sendStatus, 'SEND_OK');
          timed.push({ i, due });
        }
        assert.equal(await peer.done, 0, `libons consumer got every message: ${peer.stderr()}`);
        const byKey = new Map(peer.got.map(g => [ g.key, g ]));
        assert.equal(new Set(peer.got.map(g => g.msgId)).size, peer.got.length, 'distinct Message IDs');
        for (const s of sent) {
          const g = byKey.get(`k-${s.i}-${run}`);
          assert.ok(g, `message ${s.i} received by libons`);
          assert.equal(g.tag, `Tag${s.i % 2}`, `message ${s.i} tag`);
          assert.equal(g.body, `ali-${s.i}-${run}`, `message ${s.i} body`);
          assert.equal(g.props.seq, String(s.i), `message ${s.i} property seq`);
          assert.equal(g.props.run, run, `message ${s.i} property run`);
          assert.equal(g.props.lang, 'node', `message ${s.i} property lang`);
          // ali-ons sets no UNIQ_KEY; the broker assigns one (as Java brokers
          // do for old clients) and libons reports it as the Message ID.
          assert.match(g.msgId, /^[0-9A-F]{32}$/, `message ${s.i}: libons Message ID`);
          assert.ok(Math.abs(g.bornTimestamp - s.at) < 2000, `message ${s.i} bornTimestamp`);
          assert.equal(g.reconsumeTimes, 0);
        }
        for (const t of timed) {
          const g = byKey.get(`t-${t.i}-${run}`);
          assert.ok(g, `timed message ${t.i} received by libons`);
          assert.equal(g.startDeliverTime, t.due, `timed message ${t.i}: libons reads ali-ons' startDeliverTime`);
          assert.ok(g.at >= t.due, `timed message ${t.i} delivered ${t.due - g.at} ms early`);
          console.log(`# ali-ons startDeliverTime: libons got it ${g.at - t.due} ms after due`);
        }
      } finally {
        peer.child.kill('SIGKILL');
      }
    });
  });
});
