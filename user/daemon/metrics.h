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
/* The textfile's timer and writer (metrics_textfile.c). */
struct hnd_metrics_out;

struct hnd_tree_src;

/* The exposition in two steps, each malloc'ed: what the loop keeps (its
 * counters, the programs' stats), rendered on the loop; then, on any
 * thread, that text followed by what is read by walking the slices and
 * the images: the whole exposition. */
int hnd_metrics_render_kept(struct hnd_daemon *d, char **ret);
int hnd_metrics_complete(const struct hnd_tree_src *src, const char *kept, char **ret);
/* The textfile's timer, if MetricsTextfile= names one; *ret untouched on
 * failure. */
int hnd_metrics_start(sd_event *ev, struct hnd_daemon *d, struct hnd_metrics_out **ret, struct hn_error *err);
/* NULL is fine. */
void hnd_metrics_stop(struct hnd_metrics_out *o);

#endif
