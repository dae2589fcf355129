'use strict';
// Partition order with ali-ons: messages that share a sharding key go to one
// queue (ali-ons picks it from __SHARDING_KEY) and must reach the consumer in
// send order; different keys may interleave.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { startBroker } = require('./broker');
const { Clients, scenario, makeMessage, waitFor, uniqueName } = require('./clients');

const QUEUES = 4;

describe('ordered messages (ali-ons sharding key)', () => {
  let broker;
  before(async () => { broker = await startBroker(); });
  after(async () => {
    if (broker) { await broker.stop(); broker.cleanup(); }
  });

  it('messages with the same sharding key arrive in send order', { timeout: 60000 }, async () => {
    await scenario(broker, async cl => {
      const topic = uniqueName('T_ord');
      const group = uniqueName('G_ord');
      const admin = await cl.admin();
      await admin.createTopic(topic, QUEUES);
      const seen = new Map(); // key -> [seq...] in arrival order
      let total = 0;
      const consumer = await cl.consumer({ group, topic, onMessage: msg => {
        const k = msg.properties.okey;
        if (!seen.has(k)) seen.set(k, []);
        seen.get(k).push(Number(msg.properties.seq));
        total++;
      } });
      await waitFor(() => Clients.assignedQueues(consumer, topic).length === QUEUES, 20000,
        () => `consumer to be assigned ${QUEUES} queues of ${topic}`);

      const producer = await cl.producer();
      // ali-ons 3.12.0 maps a key to queue index md5(key) % queues but writes
      // `queueIds[index] || ''`, so a key landing on queue 0 falls back to
      // round-robin (a client bug). Use keys that land on queues 1..3.
      const KEYS = [];
      for (let n = 0; KEYS.length < 5; n++) {
        const k = `order-${n}`;
        if (crypto.createHash('md5').update(k).digest().readUInt32BE() % QUEUES !== 0) KEYS.push(k);
      }
      const PER_KEY = 20;
      const queueOfKey = new Map();
      for (let i = 0; i < PER_KEY; i++) {
        for (const k of KEYS) {
          const msg = makeMessage(topic, { tag: 'Ord', body: `${k}-${i}`, props: { okey: k, seq: String(i) } });
          msg.shardingKey = k;
          const r = await producer.send(msg);
          assert.equal(r.sendStatus, 'SEND_OK');
          const q = Number(r.messageQueue.queueId);
          if (!queueOfKey.has(k)) queueOfKey.set(k, q);
          assert.equal(q, queueOfKey.get(k), `every message of ${k} goes to one queue`);
        }
      }
      const N = KEYS.length * PER_KEY;
      await waitFor(() => total >= N, 30000, () => `all ${N} ordered messages (got ${total})`);
      for (const k of KEYS) {
        const expect = Array.from({ length: PER_KEY }, (_, i) => i);
        assert.deepEqual(seen.get(k), expect, `messages of ${k} in send order, each once`);
      }
    });
  });
});
