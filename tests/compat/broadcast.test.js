'use strict';
// Broadcasting: every consumer of a BROADCASTING group gets every message.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startBroker } = require('./broker');
const { Clients, scenario, makeMessage, waitFor, sleep, uniqueName } = require('./clients');

const QUEUES = 4;

describe('broadcasting', () => {
  let broker;
  before(async () => { broker = await startBroker(); });
  after(async () => {
    if (broker) { await broker.stop(); broker.cleanup(); }
  });

  it('delivers every message to each of two consumers of one group', { timeout: 60000 }, async () => {
    await scenario(broker, async cl => {
      const topic = uniqueName('T_bc');
      const group = uniqueName('G_bc');
      const admin = await cl.admin();
      await admin.createTopic(topic, QUEUES);

      const got = { A: [], B: [] };
      const a = await cl.consumer({ group, topic, broadcast: true, onMessage: m => got.A.push(m) });
      const b = await cl.consumer({ group, topic, broadcast: true, onMessage: m => got.B.push(m) });
      // Broadcasting consumers take every queue; they start at the queue's max
      // offset (ali-ons keeps broadcast offsets in memory), so wait for that first.
      for (const [ name, c ] of [ [ 'A', a ], [ 'B', b ] ]) {
        await waitFor(() => Clients.assignedQueues(c, topic).length === QUEUES, 20000,
          () => `broadcast consumer ${name} to pull all ${QUEUES} queues (has ${JSON.stringify(Clients.assignedQueues(c, topic))})`);
      }

      const producer = await cl.producer();
      const N = 20;
      const sent = [];
      for (let i = 0; i < N; i++) {
        const r = await producer.send(makeMessage(topic, { tag: 'B', body: `b-${i}`, props: { seq: String(i) } }));
        assert.equal(r.sendStatus, 'SEND_OK');
        sent.push(r.msgId);
      }
      const uniq = arr => new Set(arr.map(m => m.msgId));
      await waitFor(() => uniq(got.A).size >= N && uniq(got.B).size >= N, 30000,
        () => `each consumer to get all ${N} (A=${uniq(got.A).size}, B=${uniq(got.B).size})`);
      await sleep(1500);
      console.log(`# broadcast: A got ${got.A.length}, B got ${got.B.length} of ${N}`);
      for (const [ name, list ] of Object.entries(got)) {
        assert.deepEqual(Array.from(uniq(list)).sort(), [ ...sent ].sort(), `consumer ${name} got exactly the sent messages`);
        assert.equal(list.length, N, `consumer ${name} got no duplicates`);
      }
    });
  });
});
