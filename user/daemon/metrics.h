/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Metrics in the Prometheus text exposition format (0.0.4): the API's
 * `metrics` call, and written atomically (temporary file + rename) to
 * MetricsTextfile= for the node exporter's textfile collector, every
 * MetricsIntervalSec. No HTTP port: a root daemon with the guard's powers
 * opens no network socket (0.3's MetricsListen= is refused, saying so). */
#ifndef HND_METRICS_H
#define HND_METRICS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include <hpcnode/cgroup.h>
#include <hpcnode/error.h>

struct hnd_daemon;
/* The textfile's timer and what it last found: metrics.c's own. */
struct hnd_metrics_out;

/* The whole exposition, malloc'ed. */
int hnd_metrics_render(struct hnd_daemon *d, char **ret);
/* Writes MetricsTextfile now; -ENOENT if its directory does not exist. */
int hnd_metrics_write_textfile(struct hnd_daemon *d);
/* The textfile's timer, if MetricsTextfile= names one; *ret untouched on
 * failure. */
int hnd_metrics_start(sd_event *ev, struct hnd_daemon *d, struct hnd_metrics_out **ret, struct hn_error *err);
/* NULL is fine. */
void hnd_metrics_stop(struct hnd_metrics_out *o);

#endif
