/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One audit record's common fields and its write: the sink's side
 * (audit_sink.c), used by what makes records (audit_records.c). */
#ifndef HND_AUDIT_LINE_H
#define HND_AUDIT_LINE_H

#include <json-c/json.h>
#include <stdint.h>

struct hnd_sink;

/* time_ns and time (RFC 3339, UTC) of real_ns. */
void sink_add_time(json_object *o, int64_t real_ns);
/* The API client this thread serves, if any (hnd_sink_set_client). */
void sink_add_client(json_object *o);
/* Writes o as the chain's next line (host, seq, prev added); returns its seq. */
uint64_t sink_write_line(struct hnd_sink *s, json_object *o);

#endif
