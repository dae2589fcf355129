'use strict';
// ali-ons against a broker with aclEnable=true: with the right accessKey and
// secretKey it sends and consumes; with a wrong secret every request is
// refused with NO_PERMISSION (16) and nothing is stored.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const MQClientAPI = require('ali-ons/lib/mq_client_api');
const RequestCode = require('ali-ons/lib/protocol/request_code');
const { startBroker } = require('./broker');
const { Clients, Admin, scenario, makeMessage, waitFor, withTimeout, uniqueName, ResponseCode } = require('./clients');

const QUEUES = 4;

describe('ACL: signed requests (ali-ons)', () => {
  let broker;
  let credDir;
  before(async () => {
    credDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tern-acl-'));
    const file = path.join(credDir, 'acl.txt');
    // clients.js signs with tern-compat-ak/tern-compat-sk; it also creates
    // topics, so that account is an admin.
    fs.writeFileSync(file, '# accessKey secretKey [admin]\ntern-compat-ak tern-compat-sk admin\nreader readerSecret\n');
    broker = await startBroker({ extra: { aclEnable: 'true', aclCredentialsFile: file, vipChannelEnable: 'false' } });
  });
  after(async () => {
    if (broker) { await broker.stop(); broker.cleanup(); }
    if (credDir) fs.rmSync(credDir, { recursive: true, force: true });
  });

  async function maxOffsets(admin, topic) {
    let sum = 0;
    for (let q = 0; q < QUEUES; q++) {
      const res = await admin._invoke(broker.brokerAddr, RequestCode.GET_MAX_OFFSET, { topic, queueId: q });
      assert.equal(res.code, ResponseCode.SUCCESS, `GET_MAX_OFFSET ${topic}/${q}: ${res.remark}`);
      sum += Number(res.extFields.offset);
    }
    return sum;
  }

  // An ali-ons RPC client signing with the given secret.
  async function rawClient(cl, extra) {
    const api = new MQClientAPI(cl.baseOptions(extra));
    api.on('error', () => {});
    cl.admins.push(api);
    await withTimeout(api.ready(), 10000, 'raw client ready');
    return new Admin(api, broker);
  }

  it('right keys: sends and consumes; wrong secret: NO_PERMISSION, nothing stored', { timeout: 90000 }, async () => {
    await scenario(broker, async cl => {
      const topic = uniqueName('T_acl');
      const group = uniqueName('G_acl');
      const admin = await cl.admin();
      await admin.createTopic(topic, QUEUES);

      const got = new Set();
      const consumer = await cl.consumer({ group, topic, onMessage: msg => { got.add(msg.body.toString()); } });
      await waitFor(() => Clients.assignedQueues(consumer, topic).length === QUEUES, 20000,
        () => `consumer to be assigned ${QUEUES} queues (has ${JSON.stringify(Clients.assignedQueues(consumer, topic))})`);
      const producer = await cl.producer();
      const N = 10;
      for (let i = 0; i < N; i++) {
        const r = await producer.send(makeMessage(topic, { tag: 'TagA', body: `acl-${i}` }));
        assert.equal(r.sendStatus, 'SEND_OK', `send ${i}`);
      }
      await waitFor(() => got.size >= N, 30000, () => `all ${N} messages (got ${got.size})`);
      assert.equal(await maxOffsets(admin, topic), N);

      // A raw request signed with a wrong secret: refused with a remark.
      const bad = await rawClient(cl, { accessKeySecret: 'not-the-secret' });
      const res = await bad._invoke(broker.brokerAddr, RequestCode.GET_MAX_OFFSET, { topic, queueId: 0 });
      assert.equal(res.code, ResponseCode.NO_PERMISSION, `wrong secret: code ${res.code} ${res.remark}`);
      assert.match(res.remark, /Check signature failed for accessKey=tern-compat-ak/);

      // An unknown access key.
      const stranger = await rawClient(cl, { accessKeyId: 'stranger', accessKeySecret: 'x' });
      const res2 = await stranger._invoke(broker.brokerAddr, RequestCode.GET_MAX_OFFSET, { topic, queueId: 0 });
      assert.equal(res2.code, ResponseCode.NO_PERMISSION);
      assert.match(res2.remark, /No acl config for stranger/);

      // A non-admin account may read but not create topics.
      const reader = await rawClient(cl, { accessKeyId: 'reader', accessKeySecret: 'readerSecret' });
      const res3 = await reader._invoke(broker.brokerAddr, RequestCode.GET_MAX_OFFSET, { topic, queueId: 0 });
      assert.equal(res3.code, ResponseCode.SUCCESS, `reader GET_MAX_OFFSET: ${res3.remark}`);
      await assert.rejects(reader.api.createTopic(broker.brokerAddr, 'TBW102', {
        topicName: uniqueName('T_denied'), readQueueNums: 1, writeQueueNums: 1, perm: 6,
        topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false,
      }, 3000), /admin/);

      // A producer with the wrong secret: each attempt is refused with 16.
      const wrong = await cl.producer({ accessKeySecret: 'not-the-secret' });
      const codes = [];
      const orig = wrong.sendKernelImpl.bind(wrong);
      wrong.sendKernelImpl = async (...a) => {
        try {
          return await orig(...a);
        } catch (err) {
          codes.push(err.code);
          throw err;
        }
      };
      await assert.rejects(wrong.send(makeMessage(topic, { tag: 'TagA', body: 'must-not-store' })), /still failed/);
      assert.ok(codes.length >= 1, 'the producer tried at least once');
      assert.ok(codes.every(c => c === ResponseCode.NO_PERMISSION), `refusal codes ${JSON.stringify(codes)}`);
      assert.equal(await maxOffsets(admin, topic), N, 'nothing stored from the wrong secret');
      assert.ok(!got.has('must-not-store'));
    });
  });
});
