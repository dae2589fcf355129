'use strict';
// Clustering: two ali-ons consumers of one group share a topic's queues (the
// broker's GET_CONSUMER_LIST_BY_GROUP drives ali-ons' client-side rebalance)
// and together receive every message exactly once.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startBroker } = require('./broker');
const { Clients, scenario, makeMessage, waitFor, sleep, uniqueName } = require('./clients');

const QUEUES = 4;

describe('consumer groups (clustering)', () => {
  let broker;
  before(async () => { broker = await startBroker(); });
  after(async () => {
    if (broker) { await broker.stop(); broker.cleanup(); }
  });

  it('two consumers of one group split the queues and receive each message once', { timeout: 90000 }, async () => {
    await scenario(broker, async cl => {
      const topic = uniqueName('T_grp');
      const group = uniqueName('G_grp');
      const admin = await cl.admin();
      await admin.createTopic(topic, QUEUES);

      const got = { A: [], B: [] };
      const cidLists = { A: null, B: null };
      const mk = async name => {
        // Record what the broker answers to GET_CONSUMER_LIST_BY_GROUP.
        const setup = c => {
          const mq = c._mqClient;
          const orig = mq.getConsumerIdListByGroup.bind(mq);
          mq.getConsumerIdListByGroup = async (...args) => {
            const ids = await orig(...args);
            cidLists[name] = ids;
            return ids;
          };
        };
        return await cl.consumer({ group, topic, setup, onMessage: msg => got[name].push(msg) });
      };
      const a = await mk('A');
      const b = await mk('B');
      const clientIds = { A: a._mqClient.clientId, B: b._mqClient.clientId };
      assert.notEqual(clientIds.A, clientIds.B, 'the two consumers are distinct clients');

      // Rebalance is client-side and periodic (ali-ons ignores NOTIFY_CONSUMER_IDS_CHANGED);
      // wait until the assignment is a stable partition of all queues.
      const partitioned = () => {
        const qa = Clients.assignedQueues(a, topic);
        const qb = Clients.assignedQueues(b, topic);
        const all = qa.concat(qb).sort((x, y) => x - y);
        return qa.length > 0 && qb.length > 0 && all.length === QUEUES && new Set(all).size === QUEUES;
      };
      const state = () => `a partition of ${QUEUES} queues between the two consumers: A=${JSON.stringify(Clients.assignedQueues(a, topic))} ` +
        `B=${JSON.stringify(Clients.assignedQueues(b, topic))}; GET_CONSUMER_LIST_BY_GROUP answered A:${JSON.stringify(cidLists.A)} ` +
        `B:${JSON.stringify(cidLists.B)}; client ids A=${clientIds.A} B=${clientIds.B}`;
      await waitFor(partitioned, 45000, state, 200);
      await sleep(2500); // one more rebalance round: must stay partitioned
      assert.ok(partitioned(), `assignment stable: ${state()}`);
      assert.deepEqual([ ...(cidLists.A || []) ].sort(), [ clientIds.A, clientIds.B ].sort(), 'broker lists both group members');
      const qa = Clients.assignedQueues(a, topic);
      const qb = Clients.assignedQueues(b, topic);

      const producer = await cl.producer();
      const N = 40;
      const sentIds = new Set();
      for (let i = 0; i < N; i++) {
        const r = await producer.send(makeMessage(topic, { tag: 'T', body: `m-${i}`, keys: [ `k${i}` ], props: { seq: String(i) } }));
        assert.equal(r.sendStatus, 'SEND_OK');
        sentIds.add(r.msgId);
      }
      const seen = () => new Set(got.A.concat(got.B).map(m => m.msgId));
      await waitFor(() => seen().size >= N, 30000, () => `all ${N} messages (have ${seen().size}; A=${got.A.length}, B=${got.B.length})`);
      await sleep(2000); // late duplicates would show up here

      const all = got.A.concat(got.B);
      const counts = new Map();
      for (const m of all) counts.set(m.msgId, (counts.get(m.msgId) || 0) + 1);
      const duplicates = Array.from(counts.values()).filter(n => n > 1).length;
      const missing = Array.from(sentIds).filter(id => !counts.has(id)).length;
      const unexpected = Array.from(counts.keys()).filter(id => !sentIds.has(id)).length;
      console.log(`# groups: A got ${got.A.length} from queues ${JSON.stringify(qa)}, B got ${got.B.length} from queues ${JSON.stringify(qb)}; duplicates=${duplicates} missing=${missing}`);
      assert.equal(duplicates, 0, 'duplicates');
      assert.equal(missing, 0, 'missing');
      assert.equal(unexpected, 0, 'messages not sent by this test');
      assert.ok(got.A.length > 0 && got.B.length > 0, 'both consumers received messages');
      for (const m of got.A) assert.ok(qa.includes(Number(m.queueId)), `A received from its own queues only (got q${m.queueId})`);
      for (const m of got.B) assert.ok(qb.includes(Number(m.queueId)), `B received from its own queues only (got q${m.queueId})`);
    });
  });

  it('when one member closes, the other takes over all queues and gets every later message', { timeout: 90000 }, async () => {
    await scenario(broker, async cl => {
      const topic = uniqueName('T_leave');
      const group = uniqueName('G_leave');
      const admin = await cl.admin();
      await admin.createTopic(topic, QUEUES);
      const got = { A: [], B: [] };
      const a = await cl.consumer({ group, topic, onMessage: m => got.A.push(m) });
      const b = await cl.consumer({ group, topic, onMessage: m => got.B.push(m) });
      const qs = c => Clients.assignedQueues(c, topic);
      await waitFor(() => qs(a).length > 0 && qs(b).length > 0 && qs(a).length + qs(b).length === QUEUES, 45000,
        () => `a partition of the queues (A=${JSON.stringify(qs(a))} B=${JSON.stringify(qs(b))})`, 200);

      // A closes: ali-ons persists its offsets and sends UNREGISTER_CLIENT; the
      // broker must drop it from GET_CONSUMER_LIST_BY_GROUP so B re-allocates.
      await cl.close(a);
      await waitFor(() => qs(b).length === QUEUES, 30000,
        () => `B to own all ${QUEUES} queues after A left (B has ${JSON.stringify(qs(b))})`, 200);

      const producer = await cl.producer();
      const sent = new Set();
      for (let i = 0; i < 12; i++) {
        const r = await producer.send(makeMessage(topic, { tag: 'L', body: `l-${i}` }));
        sent.add(r.msgId);
      }
      const ids = () => new Set(got.B.map(m => m.msgId));
      await waitFor(() => Array.from(sent).every(id => ids().has(id)), 30000,
        () => `B to receive all 12 (has ${Array.from(sent).filter(id => ids().has(id)).length})`);
      console.log(`# groups/leave: B took over ${JSON.stringify(qs(b))} and got 12/12`);
    });
  });
});
