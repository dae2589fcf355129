/* SPDX-License-Identifier: Apache-2.0 */
/* console.h: the Open API service embedded in `mqbroker --standalone`
 * (issue: "in the standalone process by default"). It reads its openApi*
 * keys from the broker's own config file. Where no account is configured it
 * creates one on first start: random keys written to
 * <storePathRootDir>/console/credentials.properties (mode 0600) and reused
 * afterwards, so nothing is ever open without a signature. The database
 * defaults to <storePathRootDir>/console/openapi.db. A console that cannot
 * start (port taken, bad keys) is logged and the broker runs without it. */
#ifndef TERN_APP_CONSOLE_H
#define TERN_APP_CONSOLE_H

struct openapi;

/* conf_path may be NULL (defaults only); store_root is the broker's
 * storePathRootDir; namesrv_addr where the admin path finds brokers. Returns
 * the running service or NULL (logged). */
struct openapi *console_embed_start(const char *conf_path, const char *store_root,
                                    const char *namesrv_addr);

#endif
