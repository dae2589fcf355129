/* SPDX-License-Identifier: Apache-2.0 */
/* limits.h: every hard limit on wire and disk lengths, with the reason for it.
 *
 * Decoders check each length they read against one of these before using it. */
#ifndef TERN_COMMON_LIMITS_H
#define TERN_COMMON_LIMITS_H

/* Whole frame including its 4-byte length: Java's NettyDecoder default. */
#define TERN_MAX_FRAME_BYTES (16 * 1024 * 1024)
/* Header length has 24 bits on the wire; we accept far less in practice. */
#define TERN_MAX_HEADER_BYTES (4 * 1024 * 1024)
/* Broker maxMessageSize default (4 MiB), for a single body and a batch body. */
#define TERN_MAX_BODY_BYTES (4 * 1024 * 1024)
/* Properties length is an i16 in the stored record. */
#define TERN_MAX_PROPERTIES_BYTES 32767
/* Topic names: V1 magic has a one-byte topic length (signed). */
#define TERN_MAX_TOPIC_BYTES 127
/* %RETRY% and %DLQ% topics may be longer in Java; we store V1 only, so 127 too. */
#define TERN_MAX_SYS_TOPIC_BYTES 127
/* Consumer/producer group names. */
#define TERN_MAX_GROUP_BYTES 120
/* extFields entries per header: real clients send < 30. */
#define TERN_MAX_EXT_FIELDS 256
/* Messages in one batch body. */
#define TERN_MAX_BATCH_MSGS 4096
/* JSON nesting depth accepted by the tokenizer. */
#define TERN_MAX_JSON_DEPTH 64
/* Queues per topic. */
#define TERN_MAX_QUEUES_PER_TOPIC 1024

#endif
