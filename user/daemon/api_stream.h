/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HND_API_STREAM_H
#define HND_API_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

/* The sink's tap: one record line (no newline), from any thread. */
void hnd_api_tap(const char *line, size_t len, void *userdata);
/* The tap eventfd's handler (userdata: the api): what the tap gathered,
 * to every subscriber. */
int api_stream_on_tap(sd_event_source *s, int fd, uint32_t revents, void *userdata);

#endif
