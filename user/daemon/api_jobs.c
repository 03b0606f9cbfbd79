/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The calls that may wait, on a pool of threads: at most HND_API_MAX_JOBS
 * at once, the rest queued in order; their replies handed back to the
 * loop through an eventfd, so a client's replies keep their order. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "api_calls.h"
#include "api_jobs.h"
#include "api_state.h"
#include "audit_sink.h"

struct hnd_api_job {
        struct hnd_api *api;
        api_job_done_fn done;
        void *owner; /* the connection whose call it is */
        struct hnd_api_pending *pending;
        json_object *reply;
        uint64_t seq; /* the last audit record the call made on its thread */
        struct hnd_api_job *next;
};

/* A worker of the pool: runs jobs handed to it until the API stops.
 * Threads are made as calls need them, up to HND_API_MAX_JOBS, and kept:
 * a thread made and torn down per call cost more than most calls. */
static void *job_worker(void *arg) {
        struct hnd_api_job *j = arg;
        struct hnd_api *a = j->api;
        pthread_mutex_lock(&a->jobs_lock);
        for (;;) {
                pthread_mutex_unlock(&a->jobs_lock);
                (void) hnd_sink_thread_seq_take();
                hnd_api_run(j->pending);
                j->seq = hnd_sink_thread_seq_take();
                pthread_mutex_lock(&a->jobs_lock);
                /* the loop takes the whole list at once: only the first
                 * reply of a batch needs to wake it (under the lock the
                 * loop takes the list under, so none is left unseen) */
                bool wake = !a->done;
                j->next = a->done;
                a->done = j;
                uint64_t one = 1;
                if (wake)
                        (void) !write(a->done_efd, &one, sizeof(one));
                a->jobs_running--;
                pthread_cond_broadcast(&a->jobs_cond);
                a->workers_idle++;
                while (!a->ready && !a->workers_stop)
                        pthread_cond_wait(&a->work_cond, &a->jobs_lock);
                if (!a->ready)
                        break; /* stopping, nothing handed over: idle count taken back below */
                j = a->ready;
                a->ready = j->next;
                j->next = NULL;
        }
        a->workers_idle--;
        a->workers--;
        pthread_cond_broadcast(&a->jobs_cond);
        pthread_mutex_unlock(&a->jobs_lock);
        return NULL;
}

/* To an idle worker, or a new one; false if HND_API_MAX_JOBS run. */
static bool job_spawn(struct hnd_api_job *j) {
        struct hnd_api *a = j->api;
        bool ok = false;
        pthread_mutex_lock(&a->jobs_lock);
        if (a->jobs_running < HND_API_MAX_JOBS && a->workers_idle > 0) {
                a->workers_idle--; /* that worker is this job's: it pops one job per wake */
                j->next = NULL;
                struct hnd_api_job **tail = &a->ready;
                while (*tail)
                        tail = &(*tail)->next;
                *tail = j;
                pthread_cond_signal(&a->work_cond);
                ok = true;
        } else if (a->jobs_running < HND_API_MAX_JOBS) {
                pthread_attr_t attr;
                pthread_t t;
                pthread_attr_init(&attr);
                pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
                ok = pthread_create(&t, &attr, job_worker, j) == 0;
                pthread_attr_destroy(&attr);
                if (ok)
                        a->workers++;
        }
        if (ok)
                a->jobs_running++;
        pthread_mutex_unlock(&a->jobs_lock);
        return ok;
}

bool api_job_start(struct hnd_api *a, struct hnd_api_pending *p, json_object *reply, api_job_done_fn done,
                   void *owner) {
        struct hnd_api_job *j = calloc(1, sizeof(*j));
        if (!j)
                return false;
        *j = (struct hnd_api_job){ .api = a, .done = done, .owner = owner, .pending = p, .reply = reply };
        if (!a->waiting && job_spawn(j))
                return true;
        *a->waiting_tail = j;
        a->waiting_tail = &j->next;
        return true;
}

/* The calls that waited for a thread, in order, as threads come free. */
static void jobs_resume(struct hnd_api *a) {
        while (a->waiting) {
                struct hnd_api_job *j = a->waiting;
                a->waiting = j->next; /* off the queue first: the thread reuses next */
                if (!a->waiting)
                        a->waiting_tail = &a->waiting;
                j->next = NULL;
                if (!job_spawn(j)) {
                        j->next = a->waiting; /* back at the head, for the next free thread */
                        if (!a->waiting)
                                a->waiting_tail = &j->next;
                        a->waiting = j;
                        return;
                }
        }
}

void api_jobs_finish(struct hnd_api *a) {
        pthread_mutex_lock(&a->jobs_lock);
        struct hnd_api_job *j = a->done;
        a->done = NULL;
        pthread_mutex_unlock(&a->jobs_lock);
        while (j) {
                struct hnd_api_job *next = j->next;
                (void) hnd_sink_thread_seq_take();
                (void) hnd_api_finish(j->pending, j->reply); /* the guard's update may record too */
                uint64_t seq = hnd_sink_thread_seq_take();
                j->done(j->owner, j->reply, seq > j->seq ? seq : j->seq);
                json_object_put(j->reply);
                free(j);
                j = next;
        }
        jobs_resume(a);
}

int api_jobs_on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        uint64_t v;
        (void) s, (void) revents;
        (void) !read(fd, &v, sizeof(v));
        api_jobs_finish(userdata);
        return 0;
}

void api_jobs_stop(struct hnd_api *a) {
        /* calls that never got a thread are answered busy, to no one */
        for (struct hnd_api_job *j = a->waiting, *next; j; j = next) {
                next = j->next;
                hnd_api_busy(j->pending);
                (void) hnd_api_finish(j->pending, j->reply);
                j->done(j->owner, j->reply, 0); /* its connection is gone: closed by then */
                json_object_put(j->reply);
                free(j);
        }
        a->waiting = NULL;
        a->waiting_tail = &a->waiting;
        /* Calls still running finish first (a kill waits its timeout at
         * most); then the idle workers go. */
        pthread_mutex_lock(&a->jobs_lock);
        while (a->jobs_running)
                pthread_cond_wait(&a->jobs_cond, &a->jobs_lock);
        a->workers_stop = true;
        pthread_cond_broadcast(&a->work_cond);
        while (a->workers)
                pthread_cond_wait(&a->jobs_cond, &a->jobs_lock);
        pthread_mutex_unlock(&a->jobs_lock);
        api_jobs_finish(a);
}
