'use strict';
// Consumption failure: ali-ons hands the message back with
// CONSUMER_SEND_MSG_BACK (36, delayLevel 0 = broker decides: level 3 + reconsumeTimes,
// i.e. 10 s), and the copy comes back through %RETRY%<group>, which ali-ons
// subscribes to automatically, with reconsumeTimes 1 and the original
// topic, body and properties.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startBroker } = require('./broker');
const { Clients, Consumer, scenario, makeMessage, waitFor, uniqueName } = require('./clients');

describe('retry (consumer send-back)', () => {
  let broker;
  before(async () => { broker = await startBroker(); });
  after(async () => {
    if (broker) { await broker.stop(); broker.cleanup(); }
  });

  it('a message the handler asks to retry is redelivered via %RETRY%<group> after the level-3 delay', { timeout: 60000, todo: 'CONSUMER_SEND_MSG_BACK and delay levels are issue 3' }, async () => {
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
