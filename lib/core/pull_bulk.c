/* Bulk array readers: msi_pull_ints and msi_pull_floats (see pull.h), with
 * fast paths for JSON number runs and UBJSON typed arrays. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "pull_impl.h"

static bool i64_grow(msi_pull *p, msi_i64vec *v)
{
	{
		if (v->len >= p->max_elements) {
			msi_pl_fail(p, MS_ELIMIT, false, "array longer than %zu elements", p->max_elements);
			return false;
		}
		size_t ncap = v->cap ? v->cap * 2 : 64;
		int64_t *nv = msi_reallocarray(v->v, ncap, sizeof *nv);
		if (!nv) {
			msi_pl_fail(p, MS_ENOMEM, false, "out of memory");
			return false;
		}
		v->v = nv;
		v->cap = ncap;
	}
	return true;
}

static inline bool i64_push(msi_pull *p, msi_i64vec *v, int64_t x)
{
	if (v->len == v->cap && !i64_grow(p, v))
		return false;
	v->v[v->len++] = x;
	return true;
}

static bool u8_grow(msi_pull *p, msi_u8vec *v)
{
	{
		if (v->len >= p->max_elements) {
			msi_pl_fail(p, MS_ELIMIT, false, "array longer than %zu elements", p->max_elements);
			return false;
		}
		size_t ncap = v->cap ? v->cap * 2 : 64;
		uint8_t *nv = msi_realloc(v->v, ncap);
		if (!nv) {
			msi_pl_fail(p, MS_ENOMEM, false, "out of memory");
			return false;
		}
		v->v = nv;
		v->cap = ncap;
	}
	return true;
}

static inline bool u8_push(msi_pull *p, msi_u8vec *v, uint8_t x)
{
	if (v->len == v->cap && !u8_grow(p, v))
		return false;
	v->v[v->len++] = x;
	return true;
}

/* JSON: the separator after an element of the current array; returns 1 at
 * ']' (consumed, frame popped), 0 after ',' (consumed), -1 on error. */
static int json_after_element(msi_pull *p)
{
	if (!msi_pl_json_ws(p)) {
		if (p->rc == MS_OK)
			msi_pl_truncated(p);
		return -1;
	}
	if (*p->p == ']') {
		p->p++;
		msi_pl_pop(p);
		return 1;
	}
	if (*p->p != ',') {
		msi_pl_fail(p, MS_EFORMAT, false, "expected ',' or ']'");
		return -1;
	}
	p->p++;
	if (!msi_pl_json_ws(p)) {
		if (p->rc == MS_OK)
			msi_pl_truncated(p);
		return -1;
	}
	if (*p->p == ']') {
		msi_pl_fail(p, MS_EFORMAT, false, "expected a value");
		return -1;
	}
	return 0;
}

/* JSON: true when the next element is a number (the fast path). */
static bool json_number_ahead(msi_pull *p)
{
	uint8_t c = *p->p;
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'N' || c == 'I';
}

/* Element classification for the generic path: 0 number (value in *d, int
 * in *i when integral), 2 no number. Containers are skipped. */
static int generic_element(msi_pull *p, msi_pull_tok t, int64_t *i, double *d, bool *integral)
{
	if (t == MSI_PULL_INT) {
		*i = p->ival;
		*d = p->dval;
		*integral = true;
		return 0;
	}
	if (t == MSI_PULL_BOOL) {
		*i = p->bval;
		*d = p->bval;
		*integral = true;
		return 0;
	}
	if (t == MSI_PULL_DOUBLE) {
		*d = p->dval;
		*integral = isfinite(*d) && fabs(*d) < 9.2e18 && *d == (double)(int64_t)*d;
		*i = *integral ? (int64_t)*d : INT64_MIN;
		return 0;
	}
	if (msi_pull_skip(p, t) != MS_OK)
		return -1;
	return 2;
}

int msi_pull_ints(msi_pull *p, msi_i64vec *out, size_t *bad)
{
	out->len = 0;
	*bad = 0;
	if (p->rc != MS_OK)
		return p->rc;
	size_t depth = p->depth;
	msi_pull_frame *f = &p->stack[depth];
	if (p->ubjson && f->typed && f->typed != 'd' && f->typed != 'D' && f->typed != 'C') {
		size_t sz = ub_size(f->typed);
		while (f->left > 0) {
			if (!avail(p, sz))
				return p->rc != MS_OK ? p->rc : (msi_pl_truncated(p), p->rc);
			size_t n = (size_t)MSI_MIN((uint64_t)f->left, (uint64_t)(p->end - p->p) / sz);
			if (out->len + n > out->cap) {
				size_t want = out->len + n, ncap = out->cap ? out->cap : 64;
				while (ncap < want)
					ncap *= 2;
				if (want > p->max_elements)
					return msi_pl_fail(p, MS_ELIMIT, false, "array longer than %zu elements", p->max_elements), p->rc;
				int64_t *nv = msi_reallocarray(out->v, ncap, sizeof *nv);
				if (!nv)
					return msi_pl_fail(p, MS_ENOMEM, false, "out of memory"), p->rc;
				out->v = nv;
				out->cap = ncap;
			}
			const uint8_t *b = p->p;
			int64_t *dst = out->v + out->len;
			switch (f->typed) {
			case 'i': for (size_t k = 0; k < n; k++) dst[k] = (int8_t)b[k]; break;
			case 'U': {
				size_t k = 0;
#ifdef PULL_SSE2
				/* sixteen at a time, zero-extended to 64 bits */
				const __m128i z = _mm_setzero_si128();
				for (; n - k >= 16; k += 16) {
					__m128i v = _mm_loadu_si128((const __m128i *)(b + k));
					__m128i h[2] = { _mm_unpacklo_epi8(v, z), _mm_unpackhi_epi8(v, z) };
					for (int j = 0; j < 2; j++) {
						__m128i lo = _mm_unpacklo_epi16(h[j], z), hi = _mm_unpackhi_epi16(h[j], z);
						int64_t *d = dst + k + 8 * j;
						_mm_storeu_si128((__m128i *)d, _mm_unpacklo_epi32(lo, z));
						_mm_storeu_si128((__m128i *)(d + 2), _mm_unpackhi_epi32(lo, z));
						_mm_storeu_si128((__m128i *)(d + 4), _mm_unpacklo_epi32(hi, z));
						_mm_storeu_si128((__m128i *)(d + 6), _mm_unpackhi_epi32(hi, z));
					}
				}
#endif
				for (; k < n; k++)
					dst[k] = b[k];
				break;
			}
			case 'I': for (size_t k = 0; k < n; k++) dst[k] = (int16_t)(b[2 * k] << 8 | b[2 * k + 1]); break;
			case 'l': {
				size_t k = 0;
#ifdef PULL_SSE2
				/* four at a time: byte-swapped, sign-extended to 64 bits */
				for (; n - k >= 4; k += 4) {
					__m128i v = _mm_loadu_si128((const __m128i *)(b + 4 * k));
					v = _mm_or_si128(_mm_slli_epi16(v, 8), _mm_srli_epi16(v, 8));
					v = _mm_shufflehi_epi16(_mm_shufflelo_epi16(v, 0xB1), 0xB1);
					__m128i sign = _mm_srai_epi32(v, 31);
					_mm_storeu_si128((__m128i *)(dst + k), _mm_unpacklo_epi32(v, sign));
					_mm_storeu_si128((__m128i *)(dst + k + 2), _mm_unpackhi_epi32(v, sign));
				}
#endif
				for (; k < n; k++)
					dst[k] = (int32_t)msi_be32(b + 4 * k);
				break;
			}
			default: for (size_t k = 0; k < n; k++) dst[k] = (int64_t)msi_be64(b + 8 * k); break;
			}
			out->len += n;
			p->p += n * sz;
			f->left -= (int64_t)n;
		}
		f->state = ST_AFTER_VALUE;
		return msi_pull_next(p) == MSI_PULL_ARRAY_END ? MS_OK : p->rc;
	}
	if (!p->ubjson) {
		/* empty array? */
		if (!msi_pl_json_ws(p))
			return p->rc != MS_OK ? p->rc : (msi_pl_truncated(p), p->rc);
		if (*p->p == ']') {
			p->p++;
			msi_pl_pop(p);
			return MS_OK;
		}
		for (;;) {
			{
				/* hot loop, while the window holds 32 bytes more: [-]1 to 18
				 * digits, then ',' or ']'; anything else goes the way below */
				const uint8_t *s = p->p, *e = p->end;
				int stop = 0;
				int64_t *ov = out->v;
				size_t olen = out->len;
				while (e - s >= 32) {
#ifdef PULL_SSE2
					/* eight one-digit elements "d,d,d,d,d,d,d,d," at once
					 * (split_type and default_left are all 0 or 1) */
					if (s[1] == ',' && s[15] == ',' && out->cap - olen >= 8) {
						/* per 16-bit lane: digit ^ '0' (0..9 only for a
						 * digit) and ',' ^ ',' (0 only for a comma) */
						__m128i x = _mm_xor_si128(_mm_loadu_si128((const __m128i *)s),
						                          _mm_set1_epi16((short)(',' << 8 | '0')));
						__m128i zero = _mm_setzero_si128();
						__m128i ok = _mm_cmpeq_epi16(_mm_subs_epu16(x, _mm_set1_epi16(9)), zero);
						if (_mm_movemask_epi8(ok) == 0xFFFF) {
							__m128i lo = _mm_unpacklo_epi16(x, zero), hi = _mm_unpackhi_epi16(x, zero);
							_mm_storeu_si128((__m128i *)(ov + olen), _mm_unpacklo_epi32(lo, zero));
							_mm_storeu_si128((__m128i *)(ov + olen + 2), _mm_unpackhi_epi32(lo, zero));
							_mm_storeu_si128((__m128i *)(ov + olen + 4), _mm_unpacklo_epi32(hi, zero));
							_mm_storeu_si128((__m128i *)(ov + olen + 6), _mm_unpackhi_epi32(hi, zero));
							olen += 8;
							s += 16;
							continue;
						}
					}
#endif
					/* byte at a time: the numbers here are mostly 1 to 3
					 * digits, where that beats the 8-byte parse; at most 18
					 * digits, so v cannot overflow */
					uint64_t neg = *s == '-'; /* a local: the stores below may alias s */
					const uint8_t *q = s + neg;
					uint64_t v = (uint8_t)(*q - '0');
					if (v >= 10)
						break;
					q++;
					unsigned d = (uint8_t)(*q - '0');
					if (d < 10) {
						if (v == 0)
							break; /* a leading zero */
						const uint8_t *lim = q + 17;
						do {
							v = v * 10 + d;
							d = (uint8_t)(*++q - '0');
						} while (d < 10 && q < lim);
						if (d < 10)
							break;
					}
					uint8_t c = *q;
					if (c != ',' && c != ']')
						break;
					if (olen == out->cap) {
						out->len = olen;
						if (!i64_grow(p, out))
							return p->rc;
						ov = out->v;
					}
					ov[olen++] = (int64_t)((v ^ -neg) + neg);
					s = q + 1;
					if (c == ']') {
						stop = 1;
						break;
					}
				}
				out->len = olen;
				p->p = s;
				if (stop == 1) {
					msi_pl_pop(p);
					return MS_OK;
				}
				/* the loop stops at an element's start (or after a
				 * comma: white space or a misplaced ']' may follow) */
				if (!msi_pl_json_ws(p))
					return p->rc != MS_OK ? p->rc : (msi_pl_truncated(p), p->rc);
				if (*p->p == ']')
					return msi_pl_fail(p, MS_EFORMAT, false, "expected a value"), p->rc;
			}
			/* fast path: a short plain integer followed by ',' or ']' */
			if (p->end - p->p < 64 && !p->eof && !msi_pl_fill(p, NUMBER_MAX))
				return p->rc;
			const uint8_t *s = p->p, *e = p->end;
			bool neg = s < e && *s == '-';
			s += neg;
			const uint8_t *d0 = s;
			uint64_t v = 0;
			while (s < e && s - d0 < 18 && (uint8_t)(*s - '0') < 10)
				v = v * 10 + (uint64_t)(*s++ - '0');
			if (s > d0 && s < e && (*s == ',' || *s == ']') && !(*d0 == '0' && s - d0 > 1)) {
				if (!i64_push(p, out, neg ? -(int64_t)v : (int64_t)v))
					return p->rc;
				p->p = s + 1;
				if (*s == ']') {
					msi_pl_pop(p);
					return MS_OK;
				}
				if (p->p < p->end && (uint8_t)(*p->p - '0') < 10)
					continue;
				if (!msi_pl_json_ws(p))
					return p->rc != MS_OK ? p->rc : (msi_pl_truncated(p), p->rc);
				if (*p->p == ']')
					return msi_pl_fail(p, MS_EFORMAT, false, "expected a value"), p->rc;
				continue;
			}
			if (json_number_ahead(p)) {
				number num;
				if (!msi_pl_json_number(p, &num))
					return p->rc;
				int64_t x;
				if (num.integer) {
					x = num.neg ? -(int64_t)num.mant : (int64_t)num.mant;
				} else {
					double d = msi_pl_number_value(&num);
					if (isfinite(d) && fabs(d) < 9.2e18 && d == (double)(int64_t)d) {
						x = (int64_t)d;
					} else {
						x = INT64_MIN;
						(*bad)++;
					}
				}
				if (!i64_push(p, out, x))
					return p->rc;
				p->stack[depth].state = ST_AFTER_VALUE;
			} else {
				msi_pull_tok t = msi_pl_json_value(p);
				if (t == MSI_PULL_ERROR || msi_pull_skip(p, t) != MS_OK)
					return p->rc;
				if (t != MSI_PULL_BOOL)
					(*bad)++;
				if (!i64_push(p, out, t == MSI_PULL_BOOL ? p->bval : INT64_MIN))
					return p->rc;
			}
			int r = json_after_element(p);
			if (r < 0)
				return p->rc;
			if (r > 0)
				return MS_OK;
		}
	}
	for (;;) {
		msi_pull_tok t = msi_pull_next(p);
		if (t == MSI_PULL_ERROR)
			return p->rc;
		if (t == MSI_PULL_ARRAY_END && p->depth < depth)
			return MS_OK;
		int64_t i;
		double d;
		bool integral;
		int k = generic_element(p, t, &i, &d, &integral);
		if (k < 0)
			return p->rc;
		if (k != 0 || !integral) {
			(*bad)++;
			i = INT64_MIN;
		}
		if (!i64_push(p, out, i))
			return p->rc;
	}
}

static inline bool f32_nonfinite(uint32_t u)
{
	return (u & 0x7F800000u) == 0x7F800000u;
}

int msi_pull_floats(msi_pull *p, size_t *count, size_t *nonfinite, size_t *bad, msi_u8vec *flags, double *first)
{
	*count = *nonfinite = *bad = 0;
	if (flags)
		flags->len = 0;
	if (first)
		*first = NAN;
	if (p->rc != MS_OK)
		return p->rc;
	size_t depth = p->depth;
	msi_pull_frame *f = &p->stack[depth];
	if (p->ubjson && f->typed && f->typed != 'C') {
		size_t sz = ub_size(f->typed);
		while (f->left > 0) {
			if (!avail(p, sz))
				return p->rc != MS_OK ? p->rc : (msi_pl_truncated(p), p->rc);
			size_t n = (size_t)MSI_MIN((uint64_t)f->left, (uint64_t)(p->end - p->p) / sz);
			const uint8_t *b = p->p;
			if (flags && flags->len + n > flags->cap) {
				if (flags->len + n > p->max_elements)
					return msi_pl_fail(p, MS_ELIMIT, false, "array longer than %zu elements", p->max_elements), p->rc;
				uint8_t *nv = msi_realloc(flags->v, flags->len + n);
				if (!nv)
					return msi_pl_fail(p, MS_ENOMEM, false, "out of memory"), p->rc;
				flags->v = nv;
				flags->cap = flags->len + n;
			}
			if (f->typed == 'd' && !first) {
				/* the common case: float32 runs, finiteness by exponent bits */
				size_t nbad = 0, k = 0;
#ifdef PULL_SSE2
				/* four at a time: big-endian bytes b0 b1 are non-finite
				 * when b0 & 0x7F == 0x7F and b1 & 0x80, i.e. the
				 * little-endian word & 0x807F == 0x807F */
				const __m128i expo = _mm_set1_epi32(0x807F), one = _mm_set1_epi8(1);
				while (n - k >= 4) {
					/* lanes count at most 2^16 per block: no overflow */
					size_t stop_at = k + MSI_MIN(n - k, (size_t)1 << 18) / 4 * 4;
					__m128i acc = _mm_setzero_si128();
					for (; k < stop_at; k += 4) {
						__m128i v = _mm_loadu_si128((const __m128i *)(b + 4 * k));
						__m128i nf = _mm_cmpeq_epi32(_mm_and_si128(v, expo), expo);
						acc = _mm_sub_epi32(acc, nf);
						if (flags) {
							__m128i w = _mm_packs_epi32(nf, nf);
							uint32_t four = (uint32_t)_mm_cvtsi128_si32(_mm_and_si128(_mm_packs_epi16(w, w), one));
							memcpy(flags->v + flags->len + k, &four, 4);
						}
					}
					uint32_t lanes[4];
					_mm_storeu_si128((__m128i *)lanes, acc);
					nbad += (size_t)lanes[0] + lanes[1] + lanes[2] + lanes[3];
				}
#endif
				for (; k < n; k++) {
					uint8_t fl = f32_nonfinite(msi_be32(b + 4 * k));
					nbad += fl;
					if (flags)
						flags->v[flags->len + k] = fl;
				}
				if (flags)
					flags->len += n;
				*nonfinite += nbad;
				*count += n;
				p->p += n * 4;
				f->left -= (int64_t)n;
				continue;
			}
			for (size_t k = 0; k < n; k++) {
				uint8_t fl = 0;
				double v;
				if (f->typed == 'd') {
					uint32_t u = msi_be32(b + 4 * k);
					fl = f32_nonfinite(u);
					float fv;
					memcpy(&fv, &u, 4);
					v = fv;
				} else if (f->typed == 'D') {
					uint64_t u = msi_be64(b + 8 * k);
					memcpy(&v, &u, 8);
					fl = !isfinite(v) || fabs(v) > FLT_MAX;
				} else {
					int64_t x = (int64_t)be_load(b + sz * k, sz);
					v = (double)x; /* sign is irrelevant to finiteness */
				}
				if (first && *count == 0 && k == 0)
					*first = v;
				*nonfinite += fl;
				if (flags && !u8_push(p, flags, fl))
					return p->rc;
			}
			*count += n;
			p->p += n * sz;
			f->left -= (int64_t)n;
		}
		f->state = ST_AFTER_VALUE;
		return msi_pull_next(p) == MSI_PULL_ARRAY_END ? MS_OK : p->rc;
	}
	if (!p->ubjson) {
		if (!msi_pl_json_ws(p))
			return p->rc != MS_OK ? p->rc : (msi_pl_truncated(p), p->rc);
		if (*p->p == ']') {
			p->p++;
			msi_pl_pop(p);
			return MS_OK;
		}
		for (;;) {
			uint8_t fl;
			/* hot loop, while the window holds 80 bytes more: the fast
			 * path's shape below, read 8 bytes at a time (every read stays
			 * within 60 bytes of the element's start) */
			if (!first || *count) {
				const uint8_t *s = p->p, *e = p->end;
				size_t cnt = 0;
				int stop = 0;
				while (e - s >= 80) {
					/* XGBoost writes one integer digit before the point
					 * ("-5.075121E-1"), so the integer part and the
					 * exponent go a byte at a time, the fraction 8 */
					const uint8_t *q = s + (*s == '-');
					if ((uint8_t)(*q - '0') >= 10)
						break;
					if ((uint8_t)(q[1] - '0') < 10) {
						if (*q == '0')
							break; /* a leading zero */
						unsigned n = digits8(q + 1);
						if (n == 8)
							break; /* more than 8 integer digits */
						q += n;
					}
					q++;
					if (*q == '.') {
						const uint8_t *f0 = ++q;
						unsigned n;
						do {
							n = digits8(q);
							q += n;
						} while (n == 8 && q - s < 40);
						if (q == f0)
							break;
					}
					uint8_t c = *q;
					if ((c | 0x20) == 'e') {
						c = *++q;
						q += c == '-' || c == '+';
						unsigned x = (uint8_t)(*q - '0');
						if (x >= 10)
							break;
						q++;
						if ((uint8_t)(*q - '0') < 10) {
							/* two digits, below 30 */
							if (x >= 3 || (uint8_t)(q[1] - '0') < 10)
								break;
							q++;
						}
						c = *q;
					}
					if (c != ',' && c != ']')
						break;
					cnt++;
					s = q + 1;
					if (c == ']') {
						stop = 1;
						break;
					}
				}
				*count += cnt;
				if (flags && cnt) {
					/* one flag (0, finite) per element read above */
					if (flags->len + cnt > flags->cap) {
						if (flags->len + cnt > p->max_elements)
							return msi_pl_fail(p, MS_ELIMIT, false, "array longer than %zu elements",
							                   p->max_elements), p->rc;
						size_t ncap = flags->cap ? flags->cap : 64;
						while (ncap < flags->len + cnt)
							ncap *= 2;
						uint8_t *nv = msi_realloc(flags->v, ncap);
						if (!nv)
							return msi_pl_fail(p, MS_ENOMEM, false, "out of memory"), p->rc;
						flags->v = nv;
						flags->cap = ncap;
					}
					memset(flags->v + flags->len, 0, cnt);
					flags->len += cnt;
				}
				p->p = s;
				if (stop == 1) {
					msi_pl_pop(p);
					return MS_OK;
				}
				/* the loop stops at an element's start (or after a
				 * comma: white space or a misplaced ']' may follow) */
				if (!msi_pl_json_ws(p))
					return p->rc != MS_OK ? p->rc : (msi_pl_truncated(p), p->rc);
				if (*p->p == ']')
					return msi_pl_fail(p, MS_EFORMAT, false, "expected a value"), p->rc;
			}
			/* fast path: [-]digits[.digits][E[+-]dd] with at most 8 integer
			 * digits and a small exponent (always a finite float32),
			 * followed by ',' or ']' */
			if (p->end - p->p < 64 && !p->eof && !msi_pl_fill(p, NUMBER_MAX))
				return p->rc;
			const uint8_t *s = p->p, *e = p->end;
			s += s < e && *s == '-';
			const uint8_t *d0 = s;
			while (s < e && (uint8_t)(*s - '0') < 10)
				s++;
			bool ok = s > d0 && s - d0 <= 8 && !(*d0 == '0' && s - d0 > 1);
			if (ok && s < e && *s == '.') {
				const uint8_t *f0 = ++s;
				while (s < e && (uint8_t)(*s - '0') < 10)
					s++;
				ok = s > f0;
			}
			if (ok && s < e && (*s == 'E' || *s == 'e')) {
				s++;
				s += s < e && (*s == '-' || *s == '+');
				const uint8_t *x0 = s;
				while (s < e && (uint8_t)(*s - '0') < 10)
					s++;
				ok = s > x0 && s - x0 <= 2 && (s - x0 == 1 || x0[0] < '3');
			}
			if (ok && s < e && (*s == ',' || *s == ']')) {
				if (first && *count == 0 && !msi_parse_double((const char *)p->p, (size_t)(s - p->p), first))
					*first = NAN;
				(*count)++;
				if (flags && !u8_push(p, flags, 0))
					return p->rc;
				p->p = s + 1;
				if (*s == ']') {
					msi_pl_pop(p);
					return MS_OK;
				}
				uint8_t c = p->p < p->end ? *p->p : 0;
				if ((uint8_t)(c - '0') < 10 || c == '-')
					continue;
				if (!msi_pl_json_ws(p))
					return p->rc != MS_OK ? p->rc : (msi_pl_truncated(p), p->rc);
				if (*p->p == ']')
					return msi_pl_fail(p, MS_EFORMAT, false, "expected a value"), p->rc;
				continue;
			}
			if (json_number_ahead(p)) {
				number num;
				if (!msi_pl_json_number(p, &num))
					return p->rc;
				fl = msi_pl_number_nonfinite(&num);
				if (first && *count == 0)
					*first = msi_pl_number_value(&num);
				p->stack[depth].state = ST_AFTER_VALUE;
			} else {
				msi_pull_tok t = msi_pl_json_value(p);
				if (t == MSI_PULL_ERROR || msi_pull_skip(p, t) != MS_OK)
					return p->rc;
				fl = 2;
			}
			(*count)++;
			*nonfinite += fl == 1;
			*bad += fl == 2;
			if (flags && !u8_push(p, flags, fl))
				return p->rc;
			int r = json_after_element(p);
			if (r < 0)
				return p->rc;
			if (r > 0)
				return MS_OK;
		}
	}
	for (;;) {
		msi_pull_tok t = msi_pull_next(p);
		if (t == MSI_PULL_ERROR)
			return p->rc;
		if (t == MSI_PULL_ARRAY_END && p->depth < depth)
			return MS_OK;
		int64_t i;
		double d;
		bool integral;
		int k = generic_element(p, t, &i, &d, &integral);
		if (k < 0)
			return p->rc;
		uint8_t fl = k == 2 ? 2 : (!isfinite(d) || fabs(d) > FLT_MAX);
		if (first && *count == 0)
			*first = k == 2 ? NAN : d;
		(*count)++;
		*nonfinite += fl == 1;
		*bad += fl == 2;
		if (flags && !u8_push(p, flags, fl))
			return p->rc;
	}
}
