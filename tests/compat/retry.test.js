'use strict';
// Consumption failure: ali-ons hands the message back with
// CONSUMER_SEND_MSG_BACK (36, delayLevel 0 = broker decides: level 3 + reconsumeTimes,
// i.e. 10 s), and the copy comes back through %RETRY%<group>, which ali-ons
// subscribes to automatically, with reconsumeTimes 1 and the original
// topic, body and properties. With short delay levels (messageDelayLevel in
// the broker config) a handler that keeps failing sees the back-off schedule
// and, after maxReconsumeTimes, the message lands in %DLQ%<group>.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startBroker } = require('./broker');
const { Clients, Consumer, scenario, makeMessage, waitFor, sleep, uniqueName } = require('./clients');

describe('retry (consumer send-back)', () => {
  let broker;
  before(async () => { broker = await startBroker(); });
  after(async () => {
    if (broker) { await broker.stop(); broker.cleanup(); }
  });

  it('a message the handler asks to retry is redelivered via %RETRY%<group> after the level-3 delay', { timeout: 60000 }, async () => {
    await scenario(broker, async cl => {
      const topic = uniqueName('T_retry');
      const group = uniqueName('G_retry');
      const admin = await cl.admin();
      await admin.createTopic(topic, 4);

      const deliveries = [];
      const sendBacks = []; // outcome of each CONSUMER_SEND_MSG_BACK
      const setup = c => {
        const mq = c._mqClient;
        const orig = mq.consumerSendMessageBack.bind(mq);
        mq.consumerSendMessageBack = async (...args) => {
          try {
            const r = await orig(...args);
            sendBacks.push({ ok: true, at: Date.now() });
            return r;
          } catch (err) {
            sendBacks.push({ ok: false, at: Date.now(), error: `${err.code} ${err.message}` });
            throw err;
          }
        };
      };
      const c = await cl.consumer({
        group, topic, setup,
        onMessage: msg => {
          deliveries.push({ msg, at: Date.now() });
          return deliveries.length === 1 ? Consumer.ACTION_RETRY : undefined;
        },
      });
      await waitFor(() => Clients.assignedQueues(c, topic).length === 4, 20000, 'consumer to pull all 4 queues');

      const producer = await cl.producer();
      const r = await producer.send(makeMessage(topic, { tag: 'R', body: 'retry-me', keys: [ 'retry-key' ], props: { who: 'retry' } }));
      assert.equal(r.sendStatus, 'SEND_OK');

      await waitFor(() => deliveries.length >= 2, 35000,
        () => `the redelivery (deliveries=${deliveries.length}, send-backs=${JSON.stringify(sendBacks)})`);
      const [ first, second ] = deliveries;
      const delay = second.at - first.at;
      console.log(`# retry: send-back ${JSON.stringify(sendBacks)}; redelivered after ${delay} ms, reconsumeTimes=${second.msg.reconsumeTimes}`);
      assert.ok(sendBacks.length >= 1 && sendBacks[0].ok,
        `CONSUMER_SEND_MSG_BACK succeeded (got ${JSON.stringify(sendBacks)}; on failure ali-ons re-sends to %RETRY% itself)`);
      assert.equal(first.msg.msgId, r.msgId);
      assert.equal(second.msg.topic, topic, 'redelivered message restored to its original topic (RETRY_TOPIC)');
      assert.equal(second.msg.properties.RETRY_TOPIC, topic, 'RETRY_TOPIC property');
      assert.equal(second.msg.originMessageId, r.msgId, 'ORIGIN_MESSAGE_ID is the first delivery msgId');
      assert.equal(second.msg.reconsumeTimes, 1, 'reconsumeTimes 1');
      assert.equal(second.msg.body.toString(), 'retry-me');
      assert.equal(second.msg.tags, 'R');
      assert.equal(second.msg.keys, 'retry-key');
      assert.equal(second.msg.properties.who, 'retry');
      assert.notEqual(second.msg.msgId, r.msgId, 'the retry copy is a new stored message');
      assert.ok(delay >= 9000, `redelivered after ${delay} ms; delayLevel 0 means level 3 + reconsumeTimes 0 = 10 s`);
    });
  });
});

describe('retry back-off and dead letters (short delay levels)', () => {
  let broker;
  // Level 3 + reconsumeTimes: 1 s, then 2 s, then the DLQ.
  before(async () => { broker = await startBroker({ brokerName: 'broker-retry', extra: { messageDelayLevel: '1s 1s 1s 2s 3s 4s' } }); });
  after(async () => {
    if (broker) { await broker.stop(); broker.cleanup(); }
  });

  it('a handler that keeps failing is retried with reconsumeTimes+1, then dead-lettered with body and properties', { timeout: 60000 }, async () => {
    await scenario(broker, async cl => {
      const topic = uniqueName('T_dlq');
      const group = uniqueName('G_dlq');
      const admin = await cl.admin();
      await admin.createTopic(topic, 4);
      const deliveries = [];
      const c = await cl.consumer({
        group, topic, options: { maxReconsumeTimes: 2 },
        onMessage: msg => {
          deliveries.push({ msg, at: Date.now() });
          throw new Error('compat: consumer fails on purpose');
        },
      });
      await waitFor(() => Clients.assignedQueues(c, topic).length === 4, 20000, 'consumer to pull all 4 queues');
      const producer = await cl.producer();
      const r = await producer.send(makeMessage(topic, { tag: 'D', body: 'dead-letter-me', keys: [ 'dlq-key' ], props: { who: 'dlq' } }));
      assert.equal(r.sendStatus, 'SEND_OK');

      await waitFor(() => deliveries.length >= 3, 30000, () => `3 deliveries (got ${deliveries.length})`);
      const gaps = deliveries.slice(1).map((d, i) => d.at - deliveries[i].at);
      console.log(`# retry back-off: reconsumeTimes ${deliveries.map(d => d.msg.reconsumeTimes)}, gaps ${gaps} ms`);
      assert.deepEqual(deliveries.slice(0, 3).map(d => d.msg.reconsumeTimes), [ 0, 1, 2 ]);
      assert.ok(gaps[0] >= 900, `first retry after ${gaps[0]} ms (level 3 = 1 s)`);
      assert.ok(gaps[1] >= 1900, `second retry after ${gaps[1]} ms (level 4 = 2 s)`);
      for (const d of deliveries.slice(1)) {
        assert.equal(d.msg.topic, topic);
        assert.equal(d.msg.body.toString(), 'dead-letter-me');
        assert.equal(d.msg.properties.who, 'dlq');
        assert.equal(d.msg.originMessageId, r.msgId);
      }

      // The third failure (reconsumeTimes 2 >= maxReconsumeTimes 2) dead-letters it.
      const dlq = `%DLQ%${group}`;
      const found = await waitFor(async () => {
        const q = await admin.queryMessage(dlq, 'dlq-key');
        return q.messages.length ? q.messages : null;
      }, 15000, `the message in ${dlq}`, 300);
      assert.equal(found.length, 1);
      const m = found[0];
      assert.equal(m.body.toString(), 'dead-letter-me');
      assert.equal(m.tags, 'D');
      assert.equal(m.keys, 'dlq-key');
      assert.equal(m.properties.who, 'dlq');
      assert.equal(m.properties.RETRY_TOPIC, topic);
      assert.equal(m.properties.ORIGIN_MESSAGE_ID, r.msgId);
      assert.equal(m.reconsumeTimes, 3);
      await sleep(1500);
      assert.equal(deliveries.length, 3, 'no delivery after dead-lettering');
    });
  });
});
