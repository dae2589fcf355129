/* SPDX-License-Identifier: Apache-2.0 */
/* test_order.c: ordered-consumer queue locks (spec §4.C.9, §8.7) with a short
 * lease (lockLeaseMs): one holder per queue and group, renewal keeps it,
 * release or expiry hands it over; global-order topics have one queue. */
#include "harness.h"

#include "broker/broker_fixture.h"
#include "broker/proto_helpers.h"

TEST(lock_lease_renew_release_expire)
{
    struct fixture f;
    ASSERT_EQ(fx_prepare(&f), 0);
    fx_set(&f, "lockLeaseMs", "1000");
    ASSERT_EQ(fx_start_broker(&f), TERN_OK);
    /* Locks are only granted on queues of existing topics. */
    ASSERT_EQ(ph_create_topic(f.cli, f.addr, "OT", 2, NULL, NULL, NULL, 0), RESP_SUCCESS);
    ASSERT_EQ(ph_lock(f.cli, f.addr, true, "OG", "A", "OT", 0x3), 2);
    ASSERT_EQ(ph_lock(f.cli, f.addr, true, "OG", "B", "OT", 0x3), 0);
    ASSERT_EQ(ph_lock(f.cli, f.addr, true, "OTHER", "B", "OT", 0x3), 2); /* per group */
    /* Release by a non-holder does nothing; by the holder hands it over. */
    ASSERT_EQ(ph_lock(f.cli, f.addr, false, "OG", "B", "OT", 0x1), RESP_SUCCESS);
    ASSERT_EQ(ph_lock(f.cli, f.addr, true, "OG", "B", "OT", 0x1), 0);
    ASSERT_EQ(ph_lock(f.cli, f.addr, false, "OG", "A", "OT", 0x1), RESP_SUCCESS);
    ASSERT_EQ(ph_lock(f.cli, f.addr, true, "OG", "B", "OT", 0x1), 1);
    /* A renews queue 1 within the lease: B never gets it. */
    for (int i = 0; i < 5; i++) {
        usleep(300 * 1000);
        ASSERT_EQ(ph_lock(f.cli, f.addr, true, "OG", "A", "OT", 0x2), 1);
        ASSERT_EQ(ph_lock(f.cli, f.addr, true, "OG", "B", "OT", 0x2), 0);
    }
    /* A stops renewing: after the lease B takes it, and A has lost it. */
    usleep(1300 * 1000);
    ASSERT_EQ(ph_lock(f.cli, f.addr, true, "OG", "B", "OT", 0x2), 1);
    ASSERT_EQ(ph_lock(f.cli, f.addr, true, "OG", "A", "OT", 0x2), 0);
    fx_stop(&f);
}

TEST(global_order_topic_has_one_queue)
{
    struct fixture f;
    ASSERT_EQ(fx_start(&f), TERN_OK);
    ASSERT_EQ(ph_create_topic(f.cli, f.addr, "GO", 8, NULL, "2", NULL, 0), RESP_SUCCESS);
    struct ph_sent s;
    ASSERT_EQ(ph_send(f.cli, f.addr, "PG", "GO", -1, 0, NULL, "a", &s), RESP_SUCCESS);
    ASSERT_EQ(ph_send(f.cli, f.addr, "PG", "GO", -1, 0, NULL, "b", &s), RESP_SUCCESS);
    ASSERT_EQ(s.queue_off, 1); /* both in queue 0 */
    ASSERT_EQ(ph_send(f.cli, f.addr, "PG", "GO", 3, 0, NULL, "c", &s), RESP_INVALID_PARAMETER);
    fx_stop(&f);
}

TEST_MAIN()
