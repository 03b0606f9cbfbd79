/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HND_API_STREAM_H
#define HND_API_STREAM_H

#include <stdint.h>

#include <systemd/sd-event.h>

/* The tap eventfd's handler (userdata: the api): what the tap gathered,
 * to every subscriber. */
int api_stream_on_tap(sd_event_source *s, int fd, uint32_t revents, void *userdata);

#endif
