/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HND_AUDIT_TAIL_H
#define HND_AUDIT_TAIL_H

#include <json-c/json.h>

#include <hpcnode/error.h>

#define HND_AUDIT_TAIL_MAX 10000u

/* The last n records of the audit log, oldest first, appended to array
 * as parsed objects. Reads backwards from the end, so a long log costs
 * only what is returned. */
int hnd_audit_tail(const char *path, unsigned n, json_object *array, struct hn_error *err);

#endif
