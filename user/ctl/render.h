/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hpcnodectl's human output: what an operator reads at a glance. --json
 * prints the daemon's result as it is instead. */
#ifndef HNCTL_RENDER_H
#define HNCTL_RENDER_H

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>

/* "1.5G", "512K", "-" for a missing value. */
const char *hnctl_bytes(json_object *v, char *buf, size_t size);
/* "2h 3m", "45s", "0s". */
const char *hnctl_duration(uint64_t secs, char *buf, size_t size);
/* o.key as a string / integer; "" / 0 when missing. */
const char *hnctl_str(json_object *o, const char *key);
int64_t hnctl_int(json_object *o, const char *key);

void hnctl_render_status(FILE *f, json_object *r);
void hnctl_render_probe(FILE *f, json_object *r);
void hnctl_render_metrics(FILE *f, json_object *r);
void hnctl_render_scopes(FILE *f, json_object *r);
void hnctl_render_mounts(FILE *f, json_object *r);
void hnctl_render_emergency(FILE *f, json_object *r);
/* One audit record on one line: time, event, verdict or outcome, target, who. */
void hnctl_render_record(FILE *f, json_object *rec);
/* The slices like systemd-cgls, then the image mounts. */
void hnctl_render_tree(FILE *f, json_object *r);

#endif
