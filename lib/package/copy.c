/*
 * Copy with SHA-256, pipelined: the calling thread reads and writes while a
 * second thread hashes the chunk just read, so a large copy takes about as
 * long as the slower of the two (SHA-256 at ~2 GB/s, or the copies) rather
 * than their sum. Memory: MSI_COPY_BUFS buffers of MSI_COPY_CHUNK bytes,
 * whatever the size. Small copies, or a thread that cannot be started, hash
 * inline.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>

#include "package.h"

#define MSI_COPY_CHUNK (1u << 20)
#define MSI_COPY_BUFS 4
#define PIPELINE_MIN (8u << 20) /* below this, a thread is not worth it */

typedef struct pipeline {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	msi_sha256 *hash;
	uint8_t *buf[MSI_COPY_BUFS];
	size_t len[MSI_COPY_BUFS];
	uint64_t submitted, hashed;
	bool stop;
} pipeline;

static void *hasher(void *arg)
{
	pipeline *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->hashed == p->submitted && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->hashed == p->submitted)
			break;
		size_t k = (size_t)(p->hashed % MSI_COPY_BUFS);
		pthread_mutex_unlock(&p->mu);
		msi_sha256_update(p->hash, p->buf[k], p->len[k]);
		pthread_mutex_lock(&p->mu);
		p->hashed++;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int msi_copy_hashed(msi_read_fn read, void *read_user, uint64_t off, uint64_t len, int out_fd, msi_sha256 *hash,
                    msi_progress *progress)
{
	pipeline p;
	memset(&p, 0, sizeof p);
	p.hash = hash;
	size_t nbuf = len >= PIPELINE_MIN && hash ? MSI_COPY_BUFS : 1;
	size_t chunk = len < MSI_COPY_CHUNK ? (size_t)(len ? len : 1) : MSI_COPY_CHUNK;
	int rc = MS_OK;
	for (size_t i = 0; i < nbuf; i++)
		if (!(p.buf[i] = msi_malloc(chunk)))
			rc = msi_error(MS_ENOMEM, "out of memory");
	bool threaded = false;
	pthread_t thread;
	if (rc == MS_OK && nbuf > 1) {
		pthread_mutex_init(&p.mu, NULL);
		pthread_cond_init(&p.cv, NULL);
		threaded = pthread_create(&thread, NULL, hasher, &p) == 0;
		if (!threaded) {
			pthread_mutex_destroy(&p.mu);
			pthread_cond_destroy(&p.cv);
			nbuf = 1;
		}
	}
	uint64_t done = 0, job = 0;
	while (rc == MS_OK && done < len) {
		size_t k = (size_t)(job % nbuf);
		if (threaded) { /* wait until the hasher is done with this buffer */
			pthread_mutex_lock(&p.mu);
			while (job >= nbuf && p.hashed < job - nbuf + 1)
				pthread_cond_wait(&p.cv, &p.mu);
			pthread_mutex_unlock(&p.mu);
		}
		size_t n = len - done < chunk ? (size_t)(len - done) : chunk;
		rc = read(read_user, off + done, p.buf[k], n);
		if (rc != MS_OK)
			break;
		if (threaded) {
			pthread_mutex_lock(&p.mu);
			p.len[k] = n;
			p.submitted++;
			pthread_cond_broadcast(&p.cv);
			pthread_mutex_unlock(&p.mu);
		} else if (hash) {
			msi_sha256_update(hash, p.buf[k], n);
		}
		if (out_fd >= 0)
			rc = msi_write_all(out_fd, p.buf[k], n);
		if (rc == MS_OK)
			rc = msi_progress_add(progress, n);
		done += n;
		job++;
	}
	if (threaded) {
		pthread_mutex_lock(&p.mu);
		p.stop = true;
		pthread_cond_broadcast(&p.cv);
		pthread_mutex_unlock(&p.mu);
		pthread_join(thread, NULL);
		pthread_mutex_destroy(&p.mu);
		pthread_cond_destroy(&p.cv);
	}
	for (size_t i = 0; i < MSI_COPY_BUFS; i++)
		msi_free(p.buf[i]);
	return rc;
}

int msi_read_source(void *source, uint64_t off, void *dst, size_t len)
{
	return msi_source_read(source, off, dst, len);
}
