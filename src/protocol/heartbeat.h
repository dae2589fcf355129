/* SPDX-License-Identifier: Apache-2.0 */
/* heartbeat.h: decoders for client JSON bodies the broker reads: HeartbeatData
 * (HEART_BEAT, spec §4.C.1), the LOCK/UNLOCK_BATCH_MQ body (§4.C.9), and
 * TAG subscription expressions ("a || b", §8.10).
 *
 * Accepts every client's dialect: enum names (Java, Go, ali-ons) or ordinals
 * (CPP), subVersion as number or string, absent data sets, a trailing newline.
 * codeSet is never trusted: tags come from tagsSet, else from subString.
 * Everything decoded lives in the caller's arena (views borrowed from it).
 * Every decoder returns TERN_ENOMEM when the arena cannot grow. */
#ifndef TERN_PROTOCOL_HEARTBEAT_H
#define TERN_PROTOCOL_HEARTBEAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/bytes.h"

/* Wire ordinals (spec §4.C.1). */
enum consume_type { CONSUME_ACTIVELY = 0, CONSUME_PASSIVELY = 1, CONSUME_POP = 2 };
enum message_model { MODEL_BROADCASTING = 0, MODEL_CLUSTERING = 1 };
enum consume_from {
    CFW_LAST_OFFSET = 0,
    CFW_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST = 1,
    CFW_MIN_OFFSET = 2,
    CFW_MAX_OFFSET = 3,
    CFW_FIRST_OFFSET = 4,
    CFW_TIMESTAMP = 5,
};

/* Limits on what one heartbeat may carry (bounded decoding). */
#define HB_MAX_GROUPS 256
#define HB_MAX_SUBS   1024
#define HB_MAX_TAGS   256

struct hb_subscription {
    tern_bytes_t topic;      /* arena */
    tern_bytes_t sub_string; /* arena; "*" when absent */
    bool is_sql92;           /* expressionType == SQL92 */
    bool match_all;          /* "*" or empty expression */
    int64_t sub_version;
    size_t ntags;
    tern_bytes_t *tags; /* arena: trimmed, non-empty tag strings */
};

struct hb_consumer {
    tern_bytes_t group; /* arena */
    int consume_type;   /* enum consume_type */
    int message_model;  /* enum message_model */
    int consume_from;   /* enum consume_from */
    bool unit_mode;
    size_t nsubs;
    struct hb_subscription *subs; /* arena */
};

struct heartbeat {
    tern_bytes_t client_id; /* arena */
    size_t nproducers;
    tern_bytes_t *producers; /* arena: group names */
    size_t nconsumers;
    struct hb_consumer *consumers; /* arena */
};

/* Decodes a HeartbeatData body. TERN_EPROTOCOL for malformed JSON or a
 * missing clientID/groupName/topic, TERN_ETOO_LARGE when over the limits. */
int heartbeat_decode(tern_bytes_t body, arena_t *a, struct heartbeat *out);

/* Splits a TAG expression on "||", trimming blanks and dropping empty parts.
 * *match_all is set for "*" (alone or as one of the parts) or an empty
 * expression. Tags are views into expr (no copy) stored in an arena array.
 * TERN_ETOO_LARGE over HB_MAX_TAGS. */
int tag_expr_parse(tern_bytes_t expr, arena_t *a, tern_bytes_t **tags, size_t *ntags,
                   bool *match_all);

/* Enum names as fastjson writes them (for admin bodies); "?" if out of range. */
const char *consume_type_name(int v);
const char *message_model_name(int v);
const char *consume_from_name(int v);

/* LOCK_BATCH_MQ / UNLOCK_BATCH_MQ body. */
struct lock_mq {
    tern_bytes_t topic;       /* arena */
    tern_bytes_t broker_name; /* arena */
    int32_t queue_id;
};
struct lock_batch {
    tern_bytes_t group;     /* arena: consumerGroup */
    tern_bytes_t client_id; /* arena: clientId */
    bool only_this_broker;
    size_t nmq;
    struct lock_mq *mqs; /* arena */
};
/* TERN_EPROTOCOL on malformed JSON or a missing consumerGroup/clientId. */
int lock_batch_decode(tern_bytes_t body, arena_t *a, struct lock_batch *out);

#endif
