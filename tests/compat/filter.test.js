'use strict';
// Tag filtering: a subscription `a || b` gets tags a and b but not c.
// ali-ons filters by tag again on the client, so the test also records what
// the broker itself returned to PULL_MESSAGE: the broker must not ship c.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startBroker } = require('./broker');
const { Clients, scenario, makeMessage, waitFor, sleep, uniqueName } = require('./clients');

const QUEUES = 4;

describe('tag filter', () => {
  let broker;
  before(async () => { broker = await startBroker(); });
  after(async () => {
    if (broker) { await broker.stop(); broker.cleanup(); }
  });

  it('subscription "a || b" receives tags a and b, never c', { timeout: 60000 }, async () => {
    await scenario(broker, async cl => {
      const topic = uniqueName('T_filter');
      const group = uniqueName('G_filter');
      const admin = await cl.admin();
      await admin.createTopic(topic, QUEUES);

      const got = [];
      const pulled = []; // what PULL_MESSAGE responses carried, before ali-ons' own tag check
      const spy = consumer => {
        const origPull = consumer.pullKernelImpl.bind(consumer);
        consumer.pullKernelImpl = async (...args) => {
          const res = await origPull(...args);
          for (const m of res.msgFoundList || []) pulled.push(m);
          return res;
        };
      };
      const c = await cl.consumer({ group, topic, expression: 'a || b', setup: spy, onMessage: m => got.push(m) });
      await waitFor(() => Clients.assignedQueues(c, topic).length === QUEUES, 20000,
        () => `consumer to pull all ${QUEUES} queues (has ${JSON.stringify(Clients.assignedQueues(c, topic))})`);

      const producer = await cl.producer();
      const want = new Set();
      const tags = [ 'a', 'b', 'c' ];
      for (let i = 0; i < 30; i++) {
        const tag = tags[i % 3];
        const r = await producer.send(makeMessage(topic, { tag, body: `${tag}-${i}`, props: { seq: String(i) } }));
        assert.equal(r.sendStatus, 'SEND_OK');
        if (tag !== 'c') want.add(r.msgId);
      }
      // A final 'a' message: once it is consumed, every earlier message in
      // its queue has been through the filter.
      const last = await producer.send(makeMessage(topic, { tag: 'a', body: 'last' }));
      want.add(last.msgId);

      const ids = () => new Set(got.map(m => m.msgId));
      await waitFor(() => ids().size >= want.size, 30000, () => `${want.size} a/b messages (have ${ids().size})`);
      await sleep(1500);

      const tagCount = list => list.reduce((acc, m) => { acc[m.tags] = (acc[m.tags] || 0) + 1; return acc; }, {});
      console.log(`# filter: consumed ${JSON.stringify(tagCount(got))}; broker returned in pulls ${JSON.stringify(tagCount(pulled))}`);
      assert.deepEqual(Array.from(ids()).sort(), Array.from(want).sort(), 'exactly the a and b messages were consumed');
      assert.equal(got.length, want.size, 'no duplicates');
      const cPulled = pulled.filter(m => m.tags === 'c').length;
      assert.equal(cPulled, 0, `broker returned ${cPulled} tag-c messages to a pull subscribed to "a || b" (server-side tag filter missing)`);
    });
  });
});
