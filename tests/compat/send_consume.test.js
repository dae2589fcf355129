'use strict';
// Producer → broker → push consumer round trip with ali-ons: every field a
// message carries must come back intact.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startBroker } = require('./broker');
const { Clients, scenario, makeMessage, waitFor, uniqueName } = require('./clients');

const QUEUES = 4;

describe('send and consume (ali-ons)', () => {
  let broker;
  before(async () => { broker = await startBroker(); });
  after(async () => {
    if (broker) { await broker.stop(); broker.cleanup(); }
  });

  // Starts a consumer on a freshly created topic and waits until it pulls all queues.
  async function readyConsumer(cl, topic, group, onMessage) {
    const admin = await cl.admin();
    await admin.createTopic(topic, QUEUES);
    const consumer = await cl.consumer({ group, topic, onMessage });
    await waitFor(() => Clients.assignedQueues(consumer, topic).length === QUEUES, 20000,
      () => `consumer to be assigned ${QUEUES} queues of ${topic} (has ${JSON.stringify(Clients.assignedQueues(consumer, topic))})`);
    return consumer;
  }

  it('20 messages keep body, tag, keys, properties, flag, bornTimestamp and msgId', { timeout: 60000 }, async () => {
    await scenario(broker, async cl => {
      const topic = uniqueName('T_sc');
      const group = uniqueName('G_sc');
      const run = uniqueName('run');
      const received = new Map();
      const dupes = [];
      await readyConsumer(cl, topic, group, msg => {
        const i = msg.properties.seq;
        if (received.has(i)) dupes.push(i);
        received.set(i, msg);
      });

      const producer = await cl.producer();
      const N = 20;
      const sent = [];
      for (let i = 0; i < N; i++) {
        const tag = i % 2 ? 'TagB' : 'TagA';
        const body = `body-${i}-${run}-héllo-世界`;
        const keys = [ `key-${i}`, `shared-${run}` ];
        const props = { seq: String(i), run, colour: i % 3 ? 'blue' : 'grün' };
        const msg = makeMessage(topic, { tag, body, keys, props, flag: i });
        const before = Date.now();
        const r = await producer.send(msg);
        const afterTs = Date.now();
        assert.equal(r.sendStatus, 'SEND_OK', `send ${i} status`);
        assert.match(r.msgId, /^[0-9A-F]{32}$/, `send ${i}: msgId should be a 32-hex offset id, got ${r.msgId}`);
        sent.push({ i, tag, body, keys, props, flag: i, before, after: afterTs, result: r });
      }
      assert.equal(new Set(sent.map(s => s.result.msgId)).size, N, 'send results carry distinct msgIds');

      await waitFor(() => received.size >= N, 30000,
        () => `all ${N} messages (received ${received.size}: ${Array.from(received.keys()).sort((a, b) => a - b)})`);

      for (const s of sent) {
        const m = received.get(String(s.i));
        assert.ok(m, `message ${s.i} received`);
        assert.equal(m.topic, topic, `message ${s.i} topic`);
        assert.equal(m.body.toString('utf8'), s.body, `message ${s.i} body`);
        assert.equal(m.tags, s.tag, `message ${s.i} tag`);
        assert.equal(m.keys, s.keys.join(' '), `message ${s.i} keys`);
        for (const [ k, v ] of Object.entries(s.props)) {
          assert.equal(m.properties[k], v, `message ${s.i} property ${k}`);
        }
        assert.equal(m.flag, s.flag, `message ${s.i} flag`);
        assert.ok(m.bornTimestamp >= s.before && m.bornTimestamp <= s.after,
          `message ${s.i} bornTimestamp ${m.bornTimestamp} within send window [${s.before}, ${s.after}]`);
        assert.ok(m.storeTimestamp >= m.bornTimestamp - 1000 && m.storeTimestamp <= Date.now(),
          `message ${s.i} storeTimestamp ${m.storeTimestamp} plausible (born ${m.bornTimestamp})`);
        assert.equal(m.msgId, s.result.msgId, `message ${s.i}: consumed msgId (storeHost+commitLogOffset) equals the send result msgId`);
        assert.equal(m.storeHost, broker.brokerAddr, `message ${s.i} storeHost is the broker address`);
        assert.match(m.bornHost, /^127\.0\.0\.1:\d+$/, `message ${s.i} bornHost`);
        assert.equal(Number(m.queueId), Number(s.result.messageQueue.queueId), `message ${s.i} queueId`);
        assert.equal(m.queueOffset, s.result.queueOffset, `message ${s.i} queueOffset`);
        assert.equal(m.reconsumeTimes, 0, `message ${s.i} reconsumeTimes`);
      }
      // Sends spread over the queues (ali-ons round-robins), so offsets per queue are 0..k-1.
      const perQueue = new Map();
      for (const s of sent) {
        const q = Number(s.result.messageQueue.queueId);
        perQueue.set(q, (perQueue.get(q) || []).concat(s.result.queueOffset));
      }
      for (const [ q, offs ] of perQueue) {
        assert.deepEqual(offs, offs.map((_, k) => k), `queue ${q} offsets are consecutive from 0`);
      }
      assert.deepEqual(dupes, [], 'no message delivered twice');
    });
  });

  it('a >4 KiB body (zlib-compressed by ali-ons) round-trips', { timeout: 60000 }, async () => {
    await scenario(broker, async cl => {
      const topic = uniqueName('T_zip');
      const group = uniqueName('G_zip');
      const got = [];
      await readyConsumer(cl, topic, group, msg => got.push(msg));
      const producer = await cl.producer();
      let big = '';
      for (let i = 0; big.length < 12000; i++) big += `line ${i}: the quick brown fox jumps over the lazy dog\n`;
      const r = await producer.send(makeMessage(topic, { tag: 'Big', body: big, keys: [ 'big' ] }));
      assert.equal(r.sendStatus, 'SEND_OK');
      await waitFor(() => got.length >= 1, 30000, 'the compressed message');
      assert.equal(got.length, 1);
      assert.equal(got[0].body.toString(), big, 'body decompressed to the original');
      assert.equal(got[0].sysFlag & 1, 1, 'stored sysFlag keeps the COMPRESSED bit');
      assert.equal(got[0].msgId, r.msgId);
    });
  });

  it('startDeliverTime (__STARTDELIVERTIME) holds the message back until due', { timeout: 60000 }, async () => {
    await scenario(broker, async cl => {
      const topic = uniqueName('T_timer');
      const group = uniqueName('G_timer');
      const got = [];
      await readyConsumer(cl, topic, group, msg => got.push({ msg, at: Date.now() }));
      const producer = await cl.producer();
      const deliverAt = Date.now() + 5000;
      const r = await producer.send(makeMessage(topic, {
        tag: 'Later', body: 'timed', keys: [ 'timed-key' ], props: { who: 'timer' }, startDeliverTime: deliverAt,
      }));
      assert.equal(r.sendStatus, 'SEND_OK');
      await waitFor(() => got.length >= 1, 20000, 'the timed message');
      const { msg, at } = got[0];
      console.log(`# startDeliverTime: consumed ${at - deliverAt} ms after the due time`);
      assert.ok(at >= deliverAt,
        `delivered ${deliverAt - at} ms before its start-deliver time: the broker ignored __STARTDELIVERTIME`);
      assert.ok(at <= deliverAt + 1000, `delivered ${at - deliverAt} ms after its start-deliver time (> 1 s)`);
      assert.equal(msg.topic, topic, 'delivered on its real topic');
      assert.equal(msg.body.toString(), 'timed');
      assert.equal(msg.tags, 'Later');
      assert.equal(msg.properties.who, 'timer');
      assert.equal(got.length, 1, 'delivered once');
    });
  });

  it('DELAY level 2 (5 s with the default messageDelayLevel) holds the message back until due', { timeout: 60000 }, async () => {
    await scenario(broker, async cl => {
      const topic = uniqueName('T_delay');
      const group = uniqueName('G_delay');
      const got = [];
      await readyConsumer(cl, topic, group, msg => got.push({ msg, at: Date.now() }));
      const producer = await cl.producer();
      const msg = makeMessage(topic, { tag: 'Lvl2', body: 'delayed', keys: [ 'delay-key' ], props: { who: 'level' } });
      msg.delayTimeLevel = 2;
      const sentAt = Date.now();
      const r = await producer.send(msg);
      const ackedAt = Date.now();
      assert.equal(r.sendStatus, 'SEND_OK');
      await waitFor(() => got.length >= 1, 20000, 'the delayed message');
      const { msg: m, at } = got[0];
      // The broker counts from its store time, between sentAt and ackedAt.
      console.log(`# DELAY 2: consumed ${at - sentAt - 5000} ms after send + 5 s`);
      assert.ok(at >= sentAt + 5000, `delivered ${sentAt + 5000 - at} ms before DELAY level 2 (5 s) was up`);
      assert.ok(at <= ackedAt + 5000 + 1000, `delivered ${at - ackedAt - 5000} ms after DELAY level 2 was up (> 1 s)`);
      assert.equal(m.topic, topic, 'delivered on its real topic');
      assert.equal(m.body.toString(), 'delayed');
      assert.equal(m.tags, 'Lvl2');
      assert.equal(m.properties.who, 'level');
      assert.equal(got.length, 1, 'delivered once');
    });
  });
});
