/*
 * SHA-256. With libcrypto (which Debian's libzip already pulls in) we use its
 * EVP digest: it picks the CPU's SHA extensions at run time (~2 GB/s here,
 * five times a portable C loop). Without it, a portable FIPS 180-4 version.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#ifdef MSI_HAVE_LIBCRYPTO
#include <openssl/evp.h>
#endif

typedef struct portable_sha256 {
	uint32_t state[8];
	uint64_t total;
	uint8_t block[64];
	size_t fill;
} portable_sha256;

struct msi_sha256 {
#ifdef MSI_HAVE_LIBCRYPTO
	EVP_MD_CTX *evp;
#endif
	portable_sha256 p;
};

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void compress(uint32_t s[8], const uint8_t *p)
{
	uint32_t w[64];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint32_t a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
	}
	s[0] += a; s[1] += b; s[2] += c; s[3] += d; s[4] += e; s[5] += f; s[6] += g; s[7] += h;
}

static void portable_init(portable_sha256 *c)
{
	static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		                        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	memcpy(c->state, iv, sizeof iv);
	c->total = 0;
	c->fill = 0;
}

static void portable_update(portable_sha256 *c, const uint8_t *p, size_t n)
{
	c->total += n;
	if (c->fill) {
		size_t take = MSI_MIN(n, 64 - c->fill);
		memcpy(c->block + c->fill, p, take);
		c->fill += take;
		p += take;
		n -= take;
		if (c->fill < 64)
			return;
		compress(c->state, c->block);
		c->fill = 0;
	}
	for (; n >= 64; p += 64, n -= 64)
		compress(c->state, p);
	memcpy(c->block, p, n);
	c->fill = n;
}

static void portable_final(portable_sha256 *c, uint8_t out[32])
{
	uint64_t bits = c->total * 8;
	uint8_t pad[72] = { 0x80 };
	size_t padlen = (c->fill < 56) ? 56 - c->fill : 120 - c->fill;
	for (int i = 0; i < 8; i++)
		pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
	uint64_t keep = c->total;
	portable_update(c, pad, padlen + 8);
	c->total = keep;
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(c->state[i] >> 24);
		out[4 * i + 1] = (uint8_t)(c->state[i] >> 16);
		out[4 * i + 2] = (uint8_t)(c->state[i] >> 8);
		out[4 * i + 3] = (uint8_t)c->state[i];
	}
}

/* Tests set MODELSTORE_SHA256=portable to exercise the fallback on machines
 * that have libcrypto. Read per context: no global state. */
static bool want_portable(void)
{
	const char *v = getenv("MODELSTORE_SHA256");
	return v && strcmp(v, "portable") == 0;
}

msi_sha256 *msi_sha256_new(void)
{
	msi_sha256 *h = msi_calloc(1, sizeof *h);
	if (!h)
		return NULL;
#ifdef MSI_HAVE_LIBCRYPTO
	if (!want_portable()) {
		h->evp = EVP_MD_CTX_new();
		if (h->evp && EVP_DigestInit_ex(h->evp, EVP_sha256(), NULL) != 1) {
			EVP_MD_CTX_free(h->evp);
			h->evp = NULL;
		}
	}
#endif
	portable_init(&h->p);
	return h;
}

void msi_sha256_update(msi_sha256 *h, const void *data, size_t len)
{
#ifdef MSI_HAVE_LIBCRYPTO
	if (h->evp) {
		EVP_DigestUpdate(h->evp, data, len);
		return;
	}
#endif
	portable_update(&h->p, data, len);
}

void msi_sha256_final(msi_sha256 *h, uint8_t out[32])
{
#ifdef MSI_HAVE_LIBCRYPTO
	if (h->evp) {
		unsigned int n = 32;
		EVP_DigestFinal_ex(h->evp, out, &n);
		msi_sha256_abort(h);
		return;
	}
#endif
	portable_final(&h->p, out);
	msi_sha256_abort(h);
}

void msi_sha256_abort(msi_sha256 *h)
{
	if (!h)
		return;
#ifdef MSI_HAVE_LIBCRYPTO
	EVP_MD_CTX_free(h->evp);
#endif
	msi_free(h);
}

const char *msi_sha256_backend(void)
{
#ifdef MSI_HAVE_LIBCRYPTO
	if (!want_portable())
		return "openssl";
#endif
	return "portable";
}

void msi_hex(const uint8_t *bytes, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}
