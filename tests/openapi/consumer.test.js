'use strict';
// Consumer endpoints (spec/open-api.md §6.6) end to end: real messages sent
// and consumed with libons (tests/openapi/msg_tool.c) against a real broker,
// then accumulate/status/getConnection/timespan/resetOffset report what the
// test did.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');
const { MAIN, OTHER, startCluster, stopCluster, call, sleep } = require('./cluster');

const BUILD = process.env.TERN_BUILD_DIR
  ? path.resolve(process.env.TERN_BUILD_DIR)
  : path.join(__dirname, '..', '..', 'build');
const TOOL = path.join(BUILD, 'msg_tool');

let c;
let ns;
const TOPIC = 'T_consume';
const GROUP = 'GID_consume';
test.before(async () => {
  c = await startCluster();
  ns = `127.0.0.1:${c.namesrvPort}`;
  ok(await call(c, '/json/instance/create', {
    cluster: 'DefaultCluster', instanceName: 'plain', independentNaming: 'false',
    maxSendTps: '1000', maxReceiveTps: '1000',
  }));
  ok(await call(c, '/json/topic/create', { topic: TOPIC, orderType: '0' }));
  ok(await call(c, '/json/group/create', { groupId: GROUP }));
});
test.after(async () => { await stopCluster(c); });

function ok(r) { assert.equal(r.success, true, JSON.stringify(r)); return r.data; }
function fail(r, code) {
  assert.equal(r.success, false, JSON.stringify(r));
  assert.equal(r.dynamicCode, code, JSON.stringify(r));
}

const send = (topic, tag, key, n) =>
  execFileSync(TOOL, ['send', ns, topic, tag, key, String(n)]).toString().trim().split('\n');

// Starts a consumer; resolves once it printed `count` consumed lines.
function consume(group, topic, expr, count, seconds) {
  const child = spawn(TOOL, ['consume', ns, group, topic, expr, String(count), String(seconds)]);
  const seen = [];
  let buf = '';
  const done = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`consumed ${seen.length} of ${count}`)), 30000);
    child.stdout.on('data', d => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop();
      for (const l of lines) if (l.startsWith('consumed ')) seen.push(l.slice(9));
      if (seen.length >= count) { clearTimeout(t); resolve(seen); }
    });
  });
  const exited = new Promise(resolve => child.on('exit', code => resolve(code)));
  return { child, done, exited };
}

test('consumer endpoints: validation and unknown groups', async () => {
  fail(await call(c, '/json/consumer/accumulate', {}), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/consumer/accumulate', { groupId: 'GID_nope' }), 'BIZ_SUBSCRIPTION_NOT_FOUND');
  fail(await call(c, '/json/consumer/accumulate', { groupId: GROUP, detail: 'yes' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/consumer/status', { groupId: GROUP, needJstack: '1' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/consumer/getConnection', { groupId: GROUP }), 'BIZ_CONSUMER_NOT_ONLINE');
  fail(await call(c, '/json/consumer/getConnection', { groupId: GROUP }, OTHER), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/consumer/timespan', { groupId: GROUP }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/consumer/timespan', { groupId: GROUP, topic: 'T_nope' }), 'BIZ_TOPIC_NOT_FOUND');
  fail(await call(c, '/json/consumer/resetOffset', { groupId: GROUP, topic: TOPIC }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/consumer/resetOffset', { groupId: GROUP, topic: TOPIC, type: '2' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/consumer/resetOffset', { groupId: GROUP, topic: TOPIC, type: '1' }), 'BIZ_FIELD_CHECK_INVALID');
  const off = ok(await call(c, '/json/consumer/status', { groupId: GROUP, detail: 'true' }));
  assert.equal(off.online, false);
  assert.deepEqual(off.connectionSet, []);
  assert.deepEqual(off.consumerConnectionInfoList, []);
});

test('accumulate, status, getConnection, timespan and resetOffset follow real traffic', async () => {
  const t0 = Date.now();
  const cons = consume(GROUP, TOPIC, 'TagA', 5, 6);
  await sleep(1500);
  send(TOPIC, 'TagA', 'k1', 5);
  await cons.done;
  await sleep(500);
  let acc = ok(await call(c, '/json/consumer/accumulate', { groupId: GROUP, detail: 'true' }));
  assert.equal(acc.online, true);
  assert.equal(typeof acc.consumeTps, 'number');
  assert.equal(acc.detailInTopicList.length, 1);
  assert.equal(acc.detailInTopicList[0].topic, TOPIC);
  const conns = ok(await call(c, '/json/consumer/getConnection', { groupId: GROUP }));
  assert.equal(conns.length, 1);
  assert.equal(conns[0].language, 'CPP');
  assert.equal(conns[0].remoteIP, '127.0.0.1');
  assert.match(conns[0].clientAddr, /^127\.0\.0\.1:\d+$/);
  assert.equal(typeof conns[0].version, 'string');
  const st = ok(await call(c, '/json/consumer/status', { groupId: GROUP, detail: 'true', needJstack: 'true' }));
  assert.equal(st.online, true);
  assert.equal(st.consumeModel, 'CLUSTERING');
  assert.equal(st.subscriptionSame, true);
  assert.equal(st.rebalanceOK, true);
  assert.equal(st.connectionSet.length, 1);
  assert.equal(st.consumerConnectionInfoList.length, 1);
  const info = st.consumerConnectionInfoList[0];
  assert.equal(info.clientId, conns[0].clientId);
  assert.equal(info.consumeType, 'PUSH');
  assert.deepEqual(info.subscriptionSet.map(s => [s.topic, s.subString, s.tagsSet]), [[TOPIC, 'TagA', ['TagA']]]);
  // libons answers GET_CONSUMER_RUNNING_INFO: threads, start time, per-topic rates, thread dump.
  assert.ok(info.threadCount >= 1, JSON.stringify(info));
  assert.ok(info.startTimeStamp >= t0 && info.startTimeStamp <= Date.now(), JSON.stringify(info));
  const rd = info.runningDataList.find(d => d.topic === TOPIC);
  assert.ok(rd, JSON.stringify(info.runningDataList));
  assert.equal(rd.groupId, GROUP);
  assert.ok(rd.okTps > 0 && rd.failedTps === 0 && rd.failedCountPerHour === 0, JSON.stringify(rd));
  assert.equal(info.jstack.length, 1);
  assert.match(info.jstack[0].trackList[0], /consume-0: /);
  const brief = ok(await call(c, '/json/consumer/status', { groupId: GROUP }));
  assert.deepEqual(brief.detailInTopicList, []);
  assert.deepEqual(brief.consumerConnectionInfoList, []);
  assert.equal(await cons.exited, 0);

  // Offline now, with the offsets the client committed on shutdown.
  acc = ok(await call(c, '/json/consumer/accumulate', { groupId: GROUP }));
  assert.equal(acc.online, false);
  assert.equal(acc.totalDiff, 0);
  assert.ok(acc.lastTimestamp >= t0, JSON.stringify(acc));
  assert.equal(acc.delayTime, 0);
  assert.deepEqual(acc.detailInTopicList, []);
  send(TOPIC, 'TagA', 'k2', 3);
  await sleep(300);
  acc = ok(await call(c, '/json/consumer/accumulate', { groupId: GROUP, detail: 'true' }));
  assert.equal(acc.totalDiff, 3);
  assert.equal(acc.detailInTopicList[0].totalDiff, 3);
  assert.ok(acc.delayTime >= 200 && acc.delayTime < 60000, JSON.stringify(acc));

  const span = ok(await call(c, '/json/consumer/timespan', { groupId: GROUP, topic: TOPIC }));
  assert.equal(span.topic, TOPIC);
  assert.ok(span.minTimeStamp >= t0 && span.minTimeStamp <= span.maxTimeStamp, JSON.stringify(span));
  assert.ok(span.consumeTimeStamp >= span.minTimeStamp && span.consumeTimeStamp < span.maxTimeStamp);

  ok(await call(c, '/json/consumer/resetOffset', { groupId: GROUP, topic: TOPIC, type: '0', resetTime: 'ignored' }));
  acc = ok(await call(c, '/json/consumer/accumulate', { groupId: GROUP }));
  assert.equal(acc.totalDiff, 0);
  ok(await call(c, '/json/consumer/resetOffset', { groupId: GROUP, topic: TOPIC, type: '1', resetTime: '0' }));
  acc = ok(await call(c, '/json/consumer/accumulate', { groupId: GROUP }));
  assert.equal(acc.totalDiff, 8);
  ok(await call(c, '/json/consumer/resetOffset', { groupId: GROUP, topic: TOPIC, type: '1', resetTime: String(span.maxTimeStamp) }));
  acc = ok(await call(c, '/json/consumer/accumulate', { groupId: GROUP }));
  assert.ok(acc.totalDiff >= 1 && acc.totalDiff <= 3, JSON.stringify(acc));

  // The online client applies a reset: it consumes the 8 messages again.
  ok(await call(c, '/json/consumer/resetOffset', { groupId: GROUP, topic: TOPIC, type: '1', resetTime: '0' }));
  const again = consume(GROUP, TOPIC, 'TagA', 8, 0);
  assert.equal((await again.done).length, 8);
  await again.exited;
});
