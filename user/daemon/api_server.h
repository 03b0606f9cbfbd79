/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The API socket: JSON requests and replies, one per line, on an AF_UNIX
 * stream socket. Every connection is non-blocking and driven by the event
 * loop: a request must be complete (newline) within ApiRequestTimeoutMSec
 * of its first byte and at most HND_API_REQUEST_MAX bytes long, else the
 * client gets an error and is disconnected; a client that stops reading
 * its replies is no longer read from; none of them can hold the loop. */
#ifndef HND_API_SERVER_H
#define HND_API_SERVER_H

#include <systemd/sd-event.h>

#include <hpcnode/error.h>

#include "api_state.h"

int hnd_api_start(struct hnd_api *a, sd_event *ev, struct hnd_daemon *d, struct hn_error *err);
void hnd_api_stop(struct hnd_api *a);

#endif
