/*
 * LightGBM tree blocks (FORMATS.md §3.2): the key=value lines of one tree,
 * parsed without strtod (locale-free, fast), and the checks of §3.4 6-11.
 */
#include <stdio.h>
#include <string.h>

#include "lgbm.h"

bool lgbm_parse_int(const char *s, size_t n, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	if (i < n && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	if (i == n || n - i > 18)
		return false;
	int64_t v = 0;
	for (; i < n; i++) {
		if ((uint8_t)(s[i] - '0') > 9)
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = neg ? -v : v;
	return true;
}

static bool word_ci(const char *s, size_t n, const char *w)
{
	size_t wl = strlen(w);
	if (n != wl)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (ch != w[i])
			return false;
	}
	return true;
}

/* C-locale decimal (as LightGBM writes with %.17g), plus inf/nan. */
bool lgbm_parse_double(const char *s, size_t n, double *out)
{
	size_t i = 0;
	bool neg = false;
	if (i < n && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	if (word_ci(s + i, n - i, "inf") || word_ci(s + i, n - i, "infinity")) {
		*out = neg ? -__builtin_inf() : __builtin_inf();
		return true;
	}
	if (word_ci(s + i, n - i, "nan")) {
		*out = __builtin_nan("");
		return true;
	}
	/* JSON's grammar minus its strictness on leading zeros and a bare '.' */
	char tmp[64];
	size_t k = 0;
	if (neg)
		tmp[k++] = '-';
	if (i < n && s[i] == '.')
		tmp[k++] = '0';
	/* copy while normalising "5." to "5.0" */
	for (; i < n && k < sizeof tmp - 2; i++) {
		tmp[k++] = s[i];
		if (s[i] == '.' && (i + 1 == n || (uint8_t)(s[i + 1] - '0') > 9))
			tmp[k++] = '0';
	}
	if (i < n)
		return false;
	/* strip leading zeros of the integer part ("007" is fine for strtod) */
	size_t z = tmp[0] == '-' ? 1 : 0;
	while (k - z > 1 && tmp[z] == '0' && (uint8_t)(tmp[z + 1] - '0') <= 9) {
		memmove(tmp + z, tmp + z + 1, k - z - 1);
		k--;
	}
	return msi_parse_double(tmp, k, out);
}

static inline bool is_digit(char ch)
{
	return (uint8_t)(ch - '0') <= 9;
}

/* Nearly every byte of a tree block is a digit of a number list, so runs of
 * digits are scanned eight bytes at a time where eight are left (SWAR).
 * Bit 7 is set in each of the eight bytes at p that is not a digit: with
 * b ^ '0', a digit becomes 0..9; adding 0x76 to the low seven bits sets bit
 * 7 exactly when they are >= 10, with no carry into the next byte, and the
 * byte's own bit 7 catches the rest. */
static inline uint64_t nondigit_bytes(const char *p)
{
	uint64_t x;
	memcpy(&x, p, 8);
	x ^= 0x3030303030303030u;
	return (((x & 0x7F7F7F7F7F7F7F7Fu) + 0x7676767676767676u) | x) & 0x8080808080808080u;
}

static inline size_t skip_digits(const char *s, size_t i, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* the first byte is the lowest: the lowest set bit is the first
	 * non-digit, found without a byte loop whose length is a guess */
	for (; n - i >= 8; i += 8) {
		uint64_t nd = nondigit_bytes(s + i);
		if (nd)
			return i + (size_t)__builtin_ctzll(nd) / 8;
	}
#endif
	while (i < n && is_digit(s[i]))
		i++;
	return i;
}

static void bad_value(lgbm_tree *t, const char *key)
{
	if (!t->bad_values++)
		snprintf(t->bad_key, sizeof t->bad_key, "%s", key);
}

/* Called once per value: the common case inlined, growing kept out of line. */
static int grow_ints(msi_i64vec *v)
{
	size_t ncap = v->cap ? v->cap * 2 : 64;
	int64_t *nv = msi_reallocarray(v->v, ncap, sizeof *nv);
	if (!nv)
		return msi_error(MS_ENOMEM, "out of memory");
	v->v = nv;
	v->cap = ncap;
	return MS_OK;
}

static inline int push_int(msi_i64vec *v, int64_t x)
{
	if (v->len == v->cap && grow_ints(v) != MS_OK)
		return MS_ENOMEM;
	v->v[v->len++] = x;
	return MS_OK;
}

/* The space-separated integers of a line into `out`: each token is what
 * lgbm_parse_int accepts ([+-] and 1 to 18 digits) or INT64_MIN, counted as
 * a bad value. One pass: the token's end is found while its digits are read. */
static int parse_ints(lgbm_tree *t, const char *key, const char *s, size_t n, msi_i64vec *out)
{
	out->len = 0;
	size_t i = 0;
	while (i < n) {
		if (s[i] == ' ') {
			i++;
			continue;
		}
		bool neg = false;
		if (s[i] == '-' || s[i] == '+')
			neg = s[i++] == '-';
		size_t d0 = i;
		uint64_t v = 0; /* unsigned: 19+ digits wrap (defined) and are refused below */
		for (; i < n && is_digit(s[i]); i++)
			v = v * 10 + (uint64_t)(s[i] - '0');
		bool ok = i > d0 && i - d0 <= 18;
		if (i < n && s[i] != ' ') {
			ok = false;
			while (i < n && s[i] != ' ')
				i++;
		}
		int64_t x = INT64_MIN;
		if (ok)
			x = neg ? -(int64_t)v : (int64_t)v;
		else
			bad_value(t, key);
		if (push_int(out, x) != MS_OK)
			return MS_ENOMEM;
		i += i < n; /* the space after it */
	}
	return MS_OK;
}

/* A plain decimal token, [-]digits[.digits][(e|E)[+-]digits], read in one
 * pass from s[*i]: true when it ends at a space or the line end and is
 * finite for sure: at most 300 integer digits and, with a positive
 * exponent, at most 308 places before the point, leading zeros aside, so
 * below 1e308 < DBL_MAX (a negative exponent can only underflow, which is
 * finite). *integral: no '.' and no exponent. Anything else goes to
 * lgbm_parse_double: inf, nan, ".5", "+1", larger exponents (a token too
 * long for it does not parse). */
static bool plain_finite(const char *s, size_t n, size_t *i, bool *integral)
{
	size_t k = *i;
	k += s[k] == '-'; /* half the values: no branch */
	size_t d0 = k;
	/* the integer part is mostly one or two digits: no SWAR */
	while (k < n && is_digit(s[k]))
		k++;
	size_t digits = k - d0;
	if (digits == 0 || digits > 300)
		return false;
	*integral = true;
	if (k < n && s[k] == '.') {
		*integral = false;
		k = skip_digits(s, k + 1, n);
	}
	if (k < n && (s[k] == 'e' || s[k] == 'E')) {
		*integral = false;
		k++;
		bool eneg = false;
		if (k < n && (s[k] == '-' || s[k] == '+'))
			eneg = s[k++] == '-';
		size_t e0 = k;
		int e = 0;
		for (; k < n && is_digit(s[k]) && k - e0 < 3; k++)
			e = e * 10 + (s[k] - '0');
		if (k == e0 || k - e0 > 2)
			return false;
		if (!eneg) {
			size_t zeros = 0; /* leading zeros are not places */
			while (zeros < digits && s[d0 + zeros] == '0')
				zeros++;
			if (digits - zeros + (size_t)e > 308)
				return false;
		}
	}
	if (k < n && s[k] != ' ')
		return false;
	*i = k;
	return true;
}

/* The space-separated doubles of a line: counted into *count, non-finite
 * ones into *nonfinite; with `ints`, integral values too (categorical
 * thresholds are written as "3"), INT64_MIN for the others. */
static int parse_doubles(lgbm_tree *t, const char *key, const char *s, size_t n, msi_i64vec *ints, size_t *count,
                         size_t *nonfinite)
{
	if (ints)
		ints->len = 0;
	size_t cnt = 0, nf = 0;
	size_t i = 0;
	while (i < n) {
		if (s[i] == ' ') {
			i++;
			continue;
		}
		size_t t0 = i;
		int64_t iv = INT64_MIN;
		bool integral;
		if (plain_finite(s, n, &i, &integral)) {
			if (ints && integral && !lgbm_parse_int(s + t0, i - t0, &iv))
				iv = INT64_MIN;
		} else {
			/* inf, nan, ".5", "+1", a huge exponent or garbage */
			i = t0;
			while (i < n && s[i] != ' ')
				i++;
			double d;
			if (!lgbm_parse_double(s + t0, i - t0, &d))
				bad_value(t, key);
			else if (!(d - d == 0))
				nf++;
			else if (d > -9e18 && d < 9e18 && d == (double)(int64_t)d)
				iv = (int64_t)d;
		}
		if (ints && push_int(ints, iv) != MS_OK)
			return MS_ENOMEM;
		cnt++;
		i += i < n; /* the space after it */
	}
	if (count)
		*count = cnt;
	if (nonfinite)
		*nonfinite = nf;
	return MS_OK;
}

void lgbm_tree_reset(lgbm_tree *t)
{
	msi_i64vec *vs[] = { &t->split_feature, &t->decision_type, &t->left, &t->right, &t->leaf_count,
		             &t->internal_count, &t->cat_boundaries, &t->num_features, &t->leaf_features,
		             &t->threshold_int, &t->cat_threshold };
	msi_i64vec keep[MSI_ARRAY_LEN(vs)];
	for (size_t i = 0; i < MSI_ARRAY_LEN(vs); i++) {
		keep[i] = *vs[i];
		keep[i].len = 0;
	}
	memset(t, 0, sizeof *t);
	for (size_t i = 0; i < MSI_ARRAY_LEN(vs); i++)
		*vs[i] = keep[i];
	t->num_leaves = t->num_cat = t->is_linear = -1;
}

void lgbm_tree_free(lgbm_tree *t)
{
	msi_i64vec *vs[] = { &t->split_feature, &t->decision_type, &t->left, &t->right, &t->leaf_count,
		             &t->internal_count, &t->cat_boundaries, &t->num_features, &t->leaf_features,
		             &t->threshold_int, &t->cat_threshold };
	for (size_t i = 0; i < MSI_ARRAY_LEN(vs); i++)
		msi_i64vec_free(vs[i]);
}

static bool key_eq(const char *s, size_t n, const char *k)
{
	return strlen(k) == n && memcmp(s, k, n) == 0;
}

int lgbm_tree_line(lgbm_ctx *c, const char *s, size_t n)
{
	lgbm_tree *t = &c->tree;
	const char *eq = memchr(s, '=', n);
	t->keys++;
	if (!eq) {
		if (!t->bad_values++)
			snprintf(t->bad_key, sizeof t->bad_key, "%.*s", (int)MSI_MIN(n, 24u), s);
		return MS_OK;
	}
	size_t kl = (size_t)(eq - s);
	const char *val = eq + 1;
	size_t vl = n - kl - 1;
	if (!c->report) {
		/* inspect: only what the facts need */
		if (key_eq(s, kl, "is_linear"))
			lgbm_parse_int(val, vl, &t->is_linear);
		return MS_OK;
	}
	size_t cnt, nf;
	int64_t x;
#define SCALAR(name, field)                                                          \
	if (key_eq(s, kl, name)) {                                                   \
		if (lgbm_parse_int(val, vl, &x))                                     \
			t->field = x;                                                \
		else                                                                 \
			bad_value(t, name);                                          \
		return MS_OK;                                                        \
	}
	SCALAR("num_leaves", num_leaves)
	SCALAR("num_cat", num_cat)
	SCALAR("is_linear", is_linear)
#undef SCALAR
#define INTS(name, vec, flag)                                  \
	if (key_eq(s, kl, name)) {                             \
		t->flag = true;                                \
		return parse_ints(t, name, val, vl, &t->vec);  \
	}
	INTS("split_feature", split_feature, has_split_feature)
	INTS("decision_type", decision_type, has_decision_type)
	INTS("left_child", left, has_left)
	INTS("right_child", right, has_right)
	INTS("leaf_count", leaf_count, has_leaf_count)
	INTS("internal_count", internal_count, has_internal_count)
	INTS("cat_boundaries", cat_boundaries, has_cat_boundaries)
	INTS("num_features", num_features, has_num_features)
	INTS("leaf_features", leaf_features, has_leaf_features)
#undef INTS
#define DOUBLES(name, n_field, flag)                                          \
	if (key_eq(s, kl, name)) {                                            \
		t->flag = true;                                               \
		return parse_doubles(t, name, val, vl, NULL, &t->n_field, &nf); \
	}
	if (key_eq(s, kl, "threshold")) {
		t->has_threshold = true;
		return parse_doubles(t, "threshold", val, vl, &t->threshold_int, &t->n_threshold, &nf);
	}
	if (key_eq(s, kl, "leaf_value")) {
		t->has_leaf_value = true;
		int rc = parse_doubles(t, "leaf_value", val, vl, NULL, &t->n_leaf_value, &nf);
		t->leaf_value_nonfinite = nf;
		return rc;
	}
	if (key_eq(s, kl, "shrinkage")) {
		t->has_shrinkage = true;
		int rc = parse_doubles(t, "shrinkage", val, vl, NULL, &cnt, &nf);
		t->shrinkage_nonfinite = nf > 0 || cnt != 1;
		return rc;
	}
	if (key_eq(s, kl, "cat_threshold")) {
		/* uint32 bitset words */
		t->has_cat_threshold = true;
		int rc = parse_ints(t, "cat_threshold", val, vl, &t->cat_threshold);
		t->n_cat_threshold = t->cat_threshold.len;
		for (size_t i = 0; rc == MS_OK && i < t->cat_threshold.len; i++)
			if (t->cat_threshold.v[i] < 0 || t->cat_threshold.v[i] > 0xFFFFFFFFll)
				bad_value(t, "cat_threshold");
		return rc;
	}
	DOUBLES("split_gain", n_split_gain, has_split_gain)
	DOUBLES("leaf_weight", n_leaf_weight, has_leaf_weight)
	DOUBLES("internal_value", n_internal_value, has_internal_value)
	DOUBLES("internal_weight", n_internal_weight, has_internal_weight)
	DOUBLES("leaf_const", n_leaf_const, has_leaf_const)
	DOUBLES("leaf_coeff", n_leaf_coeff, has_leaf_coeff)
#undef DOUBLES
	return MS_OK; /* unknown keys are ignored, as LightGBM does */
}

/* ---- checks -------------------------------------------------------------- */

typedef struct tf {
	lgbm_ctx *c;
	size_t index, n;
} tf;

static void tfind(tf *f, const char *code, const char *what, int64_t k, const char *fmt, ...) MSI_PRINTF(5, 6);
static void tfind(tf *f, const char *code, const char *what, int64_t k, const char *fmt, ...)
{
	if (!f->c->report)
		return;
	char where[80];
	if (f->n++ == LGBM_MAX_FINDINGS_PER_TREE) {
		snprintf(where, sizeof where, "tree %zu", f->index);
		lgbm_find(f->c, "lgbm.tree.too_many_findings", where, "further findings in this tree are not listed");
		return;
	}
	if (f->n > LGBM_MAX_FINDINGS_PER_TREE)
		return;
	if (what)
		snprintf(where, sizeof where, "tree %zu, %s %lld", f->index, what, (long long)k);
	else
		snprintf(where, sizeof where, "tree %zu", f->index);
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	lgbm_find(f->c, code, where, "%s", msg);
}

static void check_length(tf *f, const char *name, bool present, size_t got, int64_t want, bool *ok)
{
	if (!present || (int64_t)got == want)
		return;
	tfind(f, "lgbm.tree.array_length", NULL, 0, "%s has %zu values, expected %lld", name, got, (long long)want);
	*ok = false;
}

static void check_structure(tf *f, lgbm_tree *t, int64_t L)
{
	int64_t internal = L - 1;
	uint8_t *seen = msi_calloc((size_t)(internal + L), 1);
	int64_t *stack = msi_malloc((size_t)(internal + 1) * sizeof *stack);
	if (!seen || !stack) {
		msi_free(seen);
		msi_free(stack);
		return;
	}
	bool ok = true;
	/* LightGBM numbers a node before the nodes it splits into: when every
	 * internal child has a higher index than its parent there is no cycle,
	 * and the walk from the root below is not needed */
	bool ordered = true;
	for (int64_t i = 0; i < internal; i++) {
		int64_t kids[2] = { t->left.v[i], t->right.v[i] };
		for (int k = 0; k < 2; k++) {
			int64_t y = kids[k];
			/* leaf or node is a coin toss per child: choose the slot in
			 * seen[] (nodes, then leaves) without a branch to mispredict */
			bool is_leaf = y < 0;
			uint64_t leaf = (uint64_t)~y; /* huge for y = INT64_MIN */
			bool in_range = is_leaf ? leaf < (uint64_t)L : y > 0 && y < internal;
			uint64_t slot = is_leaf ? (uint64_t)internal + leaf : (uint64_t)y;
			ordered &= is_leaf | (y > i);
			if (!in_range) {
				if (is_leaf)
					tfind(f, "lgbm.tree.child_out_of_range", "node", i,
					      "%s child %lld names leaf %lld of %lld", k ? "right" : "left", (long long)y,
					      (long long)~y, (long long)L);
				else
					tfind(f, "lgbm.tree.child_out_of_range", "node", i,
					      "%s child %lld is not a node in [1, %lld)", k ? "right" : "left", (long long)y,
					      (long long)internal);
				ok = false;
			} else if (seen[slot]++) {
				if (is_leaf)
					tfind(f, "lgbm.tree.structure", "leaf", (int64_t)leaf, "the leaf is referenced more than once");
				else
					tfind(f, "lgbm.tree.structure", "node", y, "the node is referenced more than once");
				ok = false;
			}
		}
	}
	if (ok) {
		for (int64_t i = 1; i < internal; i++)
			if (!seen[i]) {
				tfind(f, "lgbm.tree.structure", "node", i, "the node is never referenced");
				ok = false;
				break;
			}
		for (int64_t i = 0; i < L && L > 1; i++)
			if (!seen[internal + i]) {
				tfind(f, "lgbm.tree.structure", "leaf", i, "the leaf is never referenced");
				ok = false;
				break;
			}
	}
	if (ok && internal > 0 && !ordered) {
		/* every node referenced once: a walk from the root must meet them
		 * all, or the rest forms a cycle */
		memset(seen, 0, (size_t)internal);
		size_t sp = 0, visited = 0;
		stack[sp++] = 0;
		seen[0] = 1;
		while (sp) {
			int64_t x = stack[--sp];
			visited++;
			int64_t kids[2] = { t->left.v[x], t->right.v[x] };
			for (int k = 0; k < 2; k++)
				if (kids[k] > 0 && !seen[kids[k]]) {
					seen[kids[k]] = 1;
					stack[sp++] = kids[k];
				}
		}
		if ((int64_t)visited != internal)
			tfind(f, "lgbm.tree.structure", NULL, 0, "%lld nodes form a cycle unreachable from the root",
			      (long long)(internal - (int64_t)visited));
	}
	msi_free(seen);
	msi_free(stack);
}

void lgbm_check_tree(lgbm_ctx *c, size_t index)
{
	lgbm_tree *t = &c->tree;
	if (t->is_linear == 1)
		c->linear_trees++;
	for (size_t i = 0; i < t->decision_type.len; i++)
		if (t->decision_type.v[i] != INT64_MIN && (t->decision_type.v[i] & 1)) {
			c->categorical_trees++;
			break;
		}
	if (!c->report)
		return;
	tf f = { c, index, 0 };
	if (t->bad_values)
		tfind(&f, "lgbm.tree.invalid_value", NULL, 0, "%zu values do not parse (first in %s)", t->bad_values,
		      t->bad_key);
	if (t->num_leaves < 0 || t->num_cat < 0 || !t->has_leaf_value) {
		tfind(&f, "lgbm.tree.missing_key", NULL, 0, "the tree lacks %s",
		      t->num_leaves < 0 ? "num_leaves" : t->num_cat < 0 ? "num_cat" : "leaf_value");
		return;
	}
	int64_t L = t->num_leaves, C = t->num_cat;
	if (L < 1 || L > (1 << 28) || C > (1 << 28)) {
		tfind(&f, "lgbm.tree.invalid_value", NULL, 0, "num_leaves %lld or num_cat %lld is out of range",
		      (long long)L, (long long)C);
		return;
	}
	if (L > 1 && (!t->has_left || !t->has_right || !t->has_split_feature || !t->has_threshold)) {
		tfind(&f, "lgbm.tree.missing_key", NULL, 0, "a tree of %lld leaves lacks %s", (long long)L,
		      !t->has_left ? "left_child" : !t->has_right ? "right_child"
		      : !t->has_split_feature ? "split_feature" : "threshold");
		return;
	}
	if (C > 0 && (!t->has_cat_boundaries || !t->has_cat_threshold)) {
		tfind(&f, "lgbm.tree.missing_key", NULL, 0, "num_cat is %lld but %s is missing", (long long)C,
		      !t->has_cat_boundaries ? "cat_boundaries" : "cat_threshold");
		return;
	}
	bool ok = true;
	int64_t I = L - 1;
	check_length(&f, "split_feature", t->has_split_feature, t->split_feature.len, I, &ok);
	check_length(&f, "split_gain", t->has_split_gain, t->n_split_gain, I, &ok);
	check_length(&f, "threshold", t->has_threshold, t->n_threshold, I, &ok);
	check_length(&f, "decision_type", t->has_decision_type, t->decision_type.len, I, &ok);
	check_length(&f, "left_child", t->has_left, t->left.len, I, &ok);
	check_length(&f, "right_child", t->has_right, t->right.len, I, &ok);
	check_length(&f, "leaf_value", true, t->n_leaf_value, L, &ok);
	check_length(&f, "leaf_weight", t->has_leaf_weight, t->n_leaf_weight, L, &ok);
	check_length(&f, "leaf_count", t->has_leaf_count, t->leaf_count.len, L, &ok);
	check_length(&f, "internal_value", t->has_internal_value, t->n_internal_value, I, &ok);
	check_length(&f, "internal_weight", t->has_internal_weight, t->n_internal_weight, I, &ok);
	check_length(&f, "internal_count", t->has_internal_count, t->internal_count.len, I, &ok);
	if (C > 0)
		check_length(&f, "cat_boundaries", true, t->cat_boundaries.len, C + 1, &ok);
	if (t->leaf_value_nonfinite)
		tfind(&f, "lgbm.tree.nonfinite", NULL, 0, "%zu leaf values are NaN or infinite", t->leaf_value_nonfinite);
	if (t->has_shrinkage && t->shrinkage_nonfinite)
		tfind(&f, "lgbm.tree.nonfinite", NULL, 0, "shrinkage is not one finite number");
	if (!ok)
		return;
	if (I > 0)
		check_structure(&f, t, L);

	/* categorical bitsets */
	bool cats_ok = C == 0;
	if (C > 0) {
		msi_i64vec *cb = &t->cat_boundaries;
		cats_ok = cb->v[0] == 0;
		for (size_t i = 1; cats_ok && i < cb->len; i++)
			cats_ok = cb->v[i] >= cb->v[i - 1];
		cats_ok = cats_ok && (uint64_t)cb->v[cb->len - 1] == t->n_cat_threshold;
		if (!cats_ok)
			tfind(&f, "lgbm.tree.categorical", NULL, 0,
			      "cat_boundaries does not rise from 0 to len(cat_threshold) = %zu", t->n_cat_threshold);
	}
	int64_t nfeat = c->max_feature_idx + 1;
	for (int64_t i = 0; i < I; i++) {
		int64_t sf = t->split_feature.v[i];
		if (sf < 0 || (c->has_max_feature_idx && sf >= nfeat)) {
			tfind(&f, "lgbm.tree.split_feature", "node", i, "split feature %lld is outside [0, %lld]",
			      (long long)sf, (long long)c->max_feature_idx);
			continue;
		}
		uint8_t kind = (size_t)sf < c->n_info_kind ? c->info_kind[sf] : LGBM_INFO_NUMERIC;
		if (kind == LGBM_INFO_NONE)
			tfind(&f, "lgbm.tree.split_feature", "node", i, "split on feature %lld, whose info is 'none' (unused)",
			      (long long)sf);
		if (!t->has_decision_type)
			continue;
		int64_t dt = t->decision_type.v[i];
		if (dt < 0 || (dt & ~0xF) || ((dt >> 2) & 3) == 3) {
			tfind(&f, "lgbm.tree.decision_type", "node", i, "decision type %lld has unknown bits or missing type 3",
			      (long long)dt);
			continue;
		}
		if (dt & 1) {
			int64_t th = t->threshold_int.len == (size_t)I ? t->threshold_int.v[i] : INT64_MIN;
			if (C == 0)
				tfind(&f, "lgbm.tree.decision_type", "node", i, "a categorical split in a tree with num_cat 0");
			else if (th < 0 || th >= C)
				tfind(&f, "lgbm.tree.categorical", "node", i, "categorical threshold is not an index in [0, %lld)",
				      (long long)C);
			if (kind == LGBM_INFO_NUMERIC)
				tfind(&f, "lgbm.tree.decision_type", "node", i,
				      "a categorical split on feature %lld, whose info is numerical", (long long)sf);
		}
	}
	/* counts: internal_count[n] = the sum of the leaves below n */
	if (t->has_leaf_count && t->has_internal_count && I > 0 && t->leaf_count.len == (size_t)L) {
		for (int64_t i = 0; i < L; i++)
			if (t->leaf_count.v[i] < 0) {
				tfind(&f, "lgbm.tree.counts", "leaf", i, "negative count %lld", (long long)t->leaf_count.v[i]);
				break;
			}
		/* children have higher indices than parents only by convention;
		 * sum bottom-up over a post-order instead: a node's count is its
		 * two children's, leaves read directly */
		for (int64_t i = 0; i < I; i++) {
			int64_t sum = 0;
			bool known = true;
			int64_t kids[2] = { t->left.v[i], t->right.v[i] };
			for (int k = 0; k < 2; k++) {
				/* as in check_structure: pick the array without a branch */
				int64_t y = kids[k];
				bool is_leaf = y < 0;
				uint64_t at = is_leaf ? (uint64_t)~y : (uint64_t)y;
				const msi_i64vec *counts = is_leaf ? &t->leaf_count : &t->internal_count;
				if (is_leaf ? at >= (uint64_t)L : y <= 0 || y >= I) {
					known = false;
					continue;
				}
				if (known && __builtin_add_overflow(sum, counts->v[at], &sum))
					known = false;
			}
			if (known && sum != t->internal_count.v[i]) {
				tfind(&f, "lgbm.tree.counts", "node", i, "internal_count %lld, its children hold %lld",
				      (long long)t->internal_count.v[i], (long long)sum);
				break;
			}
		}
	}
	/* linear trees */
	if (t->is_linear == 1) {
		if (!t->has_leaf_const || !t->has_num_features || !t->has_leaf_features || !t->has_leaf_coeff) {
			tfind(&f, "lgbm.tree.linear", NULL, 0, "a linear tree lacks leaf_const, num_features, leaf_features or leaf_coeff");
		} else {
			int64_t total = 0;
			bool bad = t->n_leaf_const != (size_t)L || t->num_features.len != (size_t)L;
			for (size_t i = 0; !bad && i < t->num_features.len; i++) {
				if (t->num_features.v[i] < 0)
					bad = true;
				else if (__builtin_add_overflow(total, t->num_features.v[i], &total))
					bad = true;
			}
			if (bad || t->leaf_features.len != (size_t)total || t->n_leaf_coeff != (size_t)total)
				tfind(&f, "lgbm.tree.linear", NULL, 0,
				      "leaf_const %zu / num_features %zu (sum %lld) / leaf_features %zu / leaf_coeff %zu disagree for %lld leaves",
				      t->n_leaf_const, t->num_features.len, (long long)total, t->leaf_features.len,
				      t->n_leaf_coeff, (long long)L);
			for (size_t i = 0; i < t->leaf_features.len; i++)
				if (t->leaf_features.v[i] < 0 || (c->has_max_feature_idx && t->leaf_features.v[i] >= nfeat)) {
					tfind(&f, "lgbm.tree.linear", NULL, 0, "leaf feature %lld is outside [0, %lld]",
					      (long long)t->leaf_features.v[i], (long long)c->max_feature_idx);
					break;
				}
		}
	} else if (t->is_linear > 1 || t->is_linear < -1) {
		tfind(&f, "lgbm.tree.invalid_value", NULL, 0, "is_linear is %lld", (long long)t->is_linear);
	}
}
