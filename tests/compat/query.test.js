'use strict';
// Query by key (QUERY_MESSAGE, 12) and view by id (VIEW_MESSAGE_BY_ID, 33).
// ali-ons 3.x exposes neither (its viewMessage is commented out), so these go
// through its RemotingClient with its RemotingCommand and MessageDecoder: the
// request headers are the ones Java's MQAdminImpl sends, the decoding is
// ali-ons' own (clients.js, class Admin).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startBroker } = require('./broker');
const { scenario, makeMessage, waitFor, uniqueName, ResponseCode } = require('./clients');

describe('query and view', () => {
  let broker;
  before(async () => { broker = await startBroker(); });
  after(async () => {
    if (broker) { await broker.stop(); broker.cleanup(); }
  });

  it('query by key and view by msgId return the stored messages', { timeout: 60000 }, async () => {
    await scenario(broker, async cl => {
      const topic = uniqueName('T_query');
      const other = uniqueName('T_other');
      const run = uniqueName('r');
      const t0 = Date.now();
      const admin = await cl.admin();
      await admin.createTopic(topic, 4);
      await admin.createTopic(other, 4);
      const producer = await cl.producer();
      const sent = [];
      for (let i = 0; i < 5; i++) {
        const keys = [ `order-${run}-${i}`, `shared-${run}` ];
        const body = `query-body-${i}`;
        const r = await producer.send(makeMessage(topic, { tag: 'Q', body, keys, props: { seq: String(i) } }));
        assert.equal(r.sendStatus, 'SEND_OK');
        sent.push({ i, keys, body, msgId: r.msgId });
      }
      // Same key on another topic: must not leak into queries on `topic`.
      const o = await producer.send(makeMessage(other, { tag: 'Q', body: 'other-topic', keys: [ `shared-${run}` ] }));
      assert.equal(o.sendStatus, 'SEND_OK');

      const hasKey = (m, key) => (m.keys || '').split(' ').includes(key);

      // --- query by a key unique to one message
      const key2 = sent[2].keys[0];
      const q1 = await waitFor(async () => {
        const r = await admin.queryMessage(topic, key2, { begin: t0 - 60000 });
        return r.messages.some(m => hasKey(m, key2)) ? r : null;
      }, 10000, () => `QUERY_MESSAGE topic=${topic} key=${key2} to return the message`, 300);
      assert.equal(q1.code, ResponseCode.SUCCESS);
      const m1 = q1.messages.filter(m => hasKey(m, key2));
      assert.equal(m1.length, 1, 'one message carries the unique key');
      assert.equal(m1[0].msgId, sent[2].msgId, 'query result msgId is the send msgId');
      assert.equal(m1[0].body.toString(), sent[2].body);
      assert.equal(m1[0].topic, topic);
      assert.ok(q1.messages.every(m => m.topic === topic), 'query returns only messages of the queried topic');
      assert.ok('indexLastUpdateTimestamp' in q1.header && 'indexLastUpdatePhyoffset' in q1.header,
        `QUERY_MESSAGE response header has indexLastUpdateTimestamp/indexLastUpdatePhyoffset (got ${JSON.stringify(q1.header)})`);

      // --- query by a key shared by all five (second key in KEYS)
      const shared = `shared-${run}`;
      const q2 = await waitFor(async () => {
        const r = await admin.queryMessage(topic, shared, { begin: t0 - 60000 });
        return r.messages.filter(m => hasKey(m, shared)).length >= sent.length ? r : null;
      }, 10000, () => `QUERY_MESSAGE key=${shared} to return all ${sent.length} messages`, 300);
      const ids2 = q2.messages.filter(m => hasKey(m, shared)).map(m => m.msgId).sort();
      assert.deepEqual(ids2, sent.map(s => s.msgId).sort(), 'shared key finds exactly the five messages of this topic');
      assert.ok(!q2.messages.some(m => m.msgId === o.msgId), 'message of the other topic not returned');

      // --- maxNum caps the result
      const q3 = await admin.queryMessage(topic, shared, { begin: t0 - 60000, maxNum: 2 });
      assert.ok(q3.messages.length <= 2, `maxNum=2 honoured (got ${q3.messages.length})`);

      // --- unknown key
      const q4 = await admin.queryMessage(topic, `nope-${run}`, { begin: t0 - 60000 });
      assert.equal(q4.messages.length, 0, 'unknown key finds nothing');
      assert.equal(q4.code, ResponseCode.QUERY_NOT_FOUND, `unknown key answers QUERY_NOT_FOUND (22), got ${q4.code} ${q4.remark}`);

      // --- view by id, for every message
      for (const s of sent) {
        const v = await admin.viewMessage(s.msgId);
        assert.equal(v.code, ResponseCode.SUCCESS, `VIEW_MESSAGE_BY_ID offset=${v.offset} at ${v.address}: code ${v.code} ${v.remark}`);
        assert.equal(v.address, broker.brokerAddr, 'msgId encodes the broker address');
        assert.equal(v.messages.length, 1, 'view returns exactly one message');
        const m = v.messages[0];
        assert.equal(m.msgId, s.msgId);
        assert.equal(m.topic, topic);
        assert.equal(m.body.toString(), s.body);
        assert.equal(m.keys, s.keys.join(' '));
        assert.equal(m.tags, 'Q');
        assert.equal(m.properties.seq, String(s.i));
      }

      // --- the broker-generated UNIQ_KEY (ali-ons never sets one) is indexed too
      const viewed = (await admin.viewMessage(sent[0].msgId)).messages[0];
      const uniq = viewed.properties.UNIQ_KEY;
      assert.ok(uniq && /^[0-9A-F]{32}$/.test(uniq),
        `stored message has a broker-generated 32-hex UNIQ_KEY property (got ${JSON.stringify(uniq)})`);
      const q5 = await waitFor(async () => {
        const r = await admin.queryMessage(topic, uniq, { begin: t0 - 60000, unique: true });
        return r.messages.some(m => m.msgId === sent[0].msgId) ? r : null;
      }, 10000, `QUERY_MESSAGE with _UNIQUE_KEY_QUERY=true key=${uniq}`, 300);
      assert.ok(q5.messages.every(m => m.properties.UNIQ_KEY === uniq), 'unique-key query returns only that message');

      // --- an offset that holds no message
      const bogus = sent[0].msgId.slice(0, 16) + '00000000FFFFFF00';
      const vb = await admin.viewMessage(bogus);
      assert.notEqual(vb.code, ResponseCode.SUCCESS, 'viewing a non-existent offset fails');
      console.log(`# query: key=1/1, shared=${ids2.length}/5, view=${sent.length}/5, uniq ok, bogus view code ${vb.code}`);
    });
  });
});
