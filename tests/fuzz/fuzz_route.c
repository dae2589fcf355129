/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_route.c: the name-server body decoders (protocol/route.c). The first
 * byte picks the decoder: 0 RegisterBrokerBody, 1 TopicRouteData, 2 the
 * compressed RegisterBrokerBody, 3 DataVersion. Whatever decodes must survive
 * encode -> decode with the same content. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)           \
    do {                      \
        if (!(cond))          \
            __builtin_trap(); \
    } while (0)

static bool str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static void round_trip_register(const struct route_register_body *rb)
{
    buf_t out;
    buf_init(&out);
    route_encode_register_body(&out, rb->topics, rb->ntopics, rb->data_version.counter,
                               rb->data_version.timestamp);
    arena_t a;
    arena_init(&a);
    struct route_register_body back;
    CHECK(route_decode_register_body(buf_view(&out), &a, &back) == TERN_OK);
    CHECK(back.ntopics == rb->ntopics);
    CHECK(back.data_version.counter == rb->data_version.counter);
    CHECK(back.data_version.timestamp == rb->data_version.timestamp);
    for (size_t i = 0; i < rb->ntopics; i++) {
        const struct route_topic_config *x = &rb->topics[i], *y = &back.topics[i];
        CHECK(str_eq(x->name, y->name) && str_eq(x->filter_type, y->filter_type));
        CHECK(x->read_queue_nums == y->read_queue_nums);
        CHECK(x->write_queue_nums == y->write_queue_nums);
        CHECK(x->perm == y->perm && x->topic_sys_flag == y->topic_sys_flag);
        CHECK(x->order == y->order);
    }
    arena_deinit(&a);
    buf_deinit(&out);
}

static void round_trip_route(const struct route_topic_route *r)
{
    buf_t out;
    buf_init(&out);
    route_encode_topic_route(&out, r);
    arena_t a;
    arena_init(&a);
    struct route_topic_route back;
    CHECK(route_decode_topic_route(buf_view(&out), &a, &back) == TERN_OK);
    CHECK(back.nqueues == r->nqueues && back.nbrokers == r->nbrokers);
    for (size_t i = 0; i < r->nqueues; i++) {
        const struct route_queue_data *x = &r->queues[i], *y = &back.queues[i];
        CHECK(str_eq(x->broker_name, y->broker_name) && x->perm == y->perm);
        CHECK(x->read_queue_nums == y->read_queue_nums);
        CHECK(x->write_queue_nums == y->write_queue_nums);
        CHECK(x->topic_sys_flag == y->topic_sys_flag);
    }
    for (size_t i = 0; i < r->nbrokers; i++) {
        const struct route_broker_data *x = &r->brokers[i], *y = &back.brokers[i];
        CHECK(str_eq(x->cluster, y->cluster) && str_eq(x->broker_name, y->broker_name));
        CHECK(str_eq(x->zone_name, y->zone_name));
        CHECK(x->enable_acting_master == y->enable_acting_master);
        CHECK(x->naddrs == y->naddrs);
        for (size_t j = 0; j < x->naddrs; j++)
            CHECK(x->addrs[j].id == y->addrs[j].id && str_eq(x->addrs[j].addr, y->addrs[j].addr));
    }
    arena_deinit(&a);
    buf_deinit(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    tern_bytes_t in = tern_bytes(data + 1, size - 1);
    arena_t a;
    arena_init(&a);
    struct route_register_body rb;
    struct route_topic_route r;
    struct route_data_version dv;
    switch (data[0] & 3) {
    case 0:
        if (route_decode_register_body(in, &a, &rb) == TERN_OK)
            round_trip_register(&rb);
        break;
    case 1:
        if (route_decode_topic_route(in, &a, &r) == TERN_OK)
            round_trip_route(&r);
        break;
    case 2:
        if (route_decode_register_body_compressed(in, &a, &rb) == TERN_OK)
            round_trip_register(&rb);
        break;
    default:
        (void)route_decode_data_version(in, &a, &dv);
        break;
    }
    arena_deinit(&a);
    return 0;
}
