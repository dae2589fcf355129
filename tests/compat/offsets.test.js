'use strict';
// Where a group starts: RocketMQ's rules as ali-ons experiences them.
// * A brand-new group on a young topic (auto-created by the producer through
//   TBW102) still gets messages sent before it first started, although
//   ali-ons defaults to CONSUME_FROM_LAST_OFFSET: the broker answers
//   QUERY_CONSUMER_OFFSET with 0 for a queue that was never truncated.
// * A group that consumed does not get old messages again when it restarts:
//   committed offsets (UPDATE_CONSUMER_OFFSET) are kept by the broker, also
//   across a broker restart.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startBroker } = require('./broker');
const { Clients, scenario, makeMessage, waitFor, sleep, uniqueName } = require('./clients');

describe('consumer offsets', () => {
  let broker;
  before(async () => { broker = await startBroker(); });
  after(async () => {
    if (broker) { await broker.stop(); broker.cleanup(); }
  });

  async function sendBatch(producer, topic, label, n) {
    const ids = [];
    for (let i = 0; i < n; i++) {
      const r = await producer.send(makeMessage(topic, { tag: label, body: `${label}-${i}`, props: { batch: label, seq: String(i) } }));
      assert.equal(r.sendStatus, 'SEND_OK', `send ${label}-${i}`);
      ids.push(r.msgId);
    }
    return ids;
  }

  // ali-ons cannot send to an unknown topic on its own (see Clients.primeAutoCreate).
  it('a new group on a young, auto-created topic receives messages sent before it started', { timeout: 60000 }, async () => {
    await scenario(broker, async cl => {
      const topic = uniqueName('T_young'); // never created explicitly: TBW102 auto-create
      const group = uniqueName('G_young');
      const admin = await cl.admin();
      const tbw = await admin.route('TBW102');
      assert.ok(tbw.queueDatas.length > 0 && (tbw.queueDatas[0].perm & 1) === 1,
        `name server routes TBW102 with PERM_INHERIT (got ${JSON.stringify(tbw.queueDatas)})`);
      const producer = await cl.producer();
      await Clients.primeAutoCreate(producer, topic);
      const ids = await sendBatch(producer, topic, 'early', 10);
      const route = await admin.waitRoute(topic, 10000);
      const qd = route.queueDatas[0];
      assert.equal(qd.writeQueueNums, 4, 'auto-created topic has min(defaultTopicQueueNums=4, TBW102 queues) = 4 queues');

      const got = [];
      await cl.consumer({ group, topic, onMessage: m => got.push(m) });
      const ids2 = () => new Set(got.map(m => m.msgId));
      await waitFor(() => ids2().size >= ids.length, 30000,
        () => `the ${ids.length} messages sent before the group existed (got ${ids2().size}); ` +
          'with CONSUME_FROM_LAST_OFFSET this needs QUERY_CONSUMER_OFFSET to answer SUCCESS offset=0 for a young queue, ' +
          'not QUERY_NOT_FOUND (which makes ali-ons start at GET_MAX_OFFSET)');
      assert.deepEqual(Array.from(ids2()).sort(), [ ...ids ].sort());
    });
  });

  it('committed offsets survive a consumer restart and a broker restart', { timeout: 120000 }, async () => {
    const topic = uniqueName('T_commit');
    const group = uniqueName('G_commit');
    const got = [];
    const onMessage = m => got.push({ batch: m.properties.batch, msgId: m.msgId });
    const batchOf = label => got.filter(g => g.batch === label);
    const waitBatch = (ids, label) => waitFor(() => new Set(batchOf(label).map(g => g.msgId)).size >= ids.length, 30000,
      () => `batch ${label} (${batchOf(label).length}/${ids.length}); all received so far: ${JSON.stringify(got.map(g => g.batch))}`);
    const summary = () => ['b1', 'b2', 'b3'].map(l => `${l}=${batchOf(l).length}`).join(' ');

    // Round 1: consume batch 1, close (ali-ons persists offsets on close).
    const b1 = await scenario(broker, async cl => {
      const admin = await cl.admin();
      await admin.createTopic(topic, 4);
      const c = await cl.consumer({ group, topic, onMessage });
      await waitFor(() => Clients.assignedQueues(c, topic).length === 4, 20000, 'consumer to pull all 4 queues');
      const producer = await cl.producer();
      const ids = await sendBatch(producer, topic, 'b1', 10);
      await waitBatch(ids, 'b1');
      await sleep(1500); // at least one periodic UPDATE_CONSUMER_OFFSET
      return ids;
    });
    assert.equal(batchOf('b1').length, b1.length, `round 1 got batch 1 once (${summary()})`);

    // Round 2: batch 2 is sent while the group is offline; a new consumer
    // instance of the same group must get batch 2 only.
    await scenario(broker, async cl => {
      const producer = await cl.producer();
      const ids = await sendBatch(producer, topic, 'b2', 10);
      await cl.consumer({ group, topic, onMessage });
      await waitBatch(ids, 'b2');
      await sleep(3000);
      assert.equal(batchOf('b1').length, b1.length,
        `after a consumer restart the group re-received ${batchOf('b1').length - b1.length} already-consumed messages (${summary()}): committed offsets not honoured`);
      assert.equal(batchOf('b2').length, ids.length, `batch 2 exactly once (${summary()})`);
    });

    // Round 3: graceful broker restart; offsets must have been persisted.
    await broker.restart();
    await scenario(broker, async cl => {
      const admin = await cl.admin();
      await admin.waitRoute(topic, 15000);
      const producer = await cl.producer();
      const ids = await sendBatch(producer, topic, 'b3', 10);
      await cl.consumer({ group, topic, onMessage });
      await waitBatch(ids, 'b3');
      await sleep(3000);
      console.log(`# offsets: received per batch after broker restart: ${summary()}`);
      assert.equal(batchOf('b1').length + batchOf('b2').length, 20,
        `after a broker restart the group re-received old messages (${summary()}): committed offsets were not persisted`);
      assert.equal(batchOf('b3').length, ids.length, `batch 3 exactly once (${summary()})`);
    });
  });
});
