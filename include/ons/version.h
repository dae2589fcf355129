/* SPDX-License-Identifier: Apache-2.0 */
/* ons/version.h: version of the Tern C SDK (libons).
 *
 * ABI rule: within one MAJOR version the library is backward compatible with
 * programs built against an older MINOR: functions and enum values are only
 * added, never removed or renumbered, and every handle is opaque. A program
 * may check at startup that the library it runs with is at least the one it
 * was compiled against: ons_check_compat(ONS_VERSION_HEX). */
#ifndef ONS_VERSION_H
#define ONS_VERSION_H

#define ONS_VERSION_MAJOR  0
#define ONS_VERSION_MINOR  1
#define ONS_VERSION_PATCH  0
#define ONS_VERSION_HEX    ((ONS_VERSION_MAJOR << 16) | (ONS_VERSION_MINOR << 8) | ONS_VERSION_PATCH)
#define ONS_VERSION_STRING "0.1.0"

#endif
