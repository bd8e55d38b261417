/* Shared container code: lookup, freeing and the member-name rules. */
#include <stdio.h>
#include <string.h>

#include "container.h"

void msi_container_free(msi_container *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->count; i++) {
		char *name = c->entries[i].name;
		/* names inside the block go with it (a zip parse may have
		 * allocated the names that did not fit one by one) */
		uintptr_t at = (uintptr_t)name, block = (uintptr_t)c->name_block;
		if (!c->name_block || at < block || at - block >= c->name_block_len)
			msi_free(name);
		msi_free(c->entries[i].link_target);
	}
	msi_big_free(c->name_block, c->name_block_len);
	if (c->entries_bytes)
		msi_big_free(c->entries, c->entries_bytes);
	else
		msi_free(c->entries);
	ms_report_free(c->findings);
	msi_source_release(c->src);
	if (c->ops && c->ops->free_impl)
		c->ops->free_impl(c->impl);
	msi_free(c);
}

ssize_t msi_container_find(const msi_container *c, const char *name)
{
	for (size_t i = 0; i < c->count; i++)
		if (strcmp(c->entries[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

ssize_t msi_container_find_suffix(const msi_container *c, const char *suffix)
{
	size_t sl = strlen(suffix);
	for (size_t i = 0; i < c->count; i++) {
		const msi_entry *e = &c->entries[i];
		if (e->type != MSI_ENTRY_FILE)
			continue;
		size_t nl = strlen(e->name);
		if (nl == sl && memcmp(e->name, suffix, sl) == 0)
			return (ssize_t)i;
		if (nl > sl && e->name[nl - sl - 1] == '/' && memcmp(e->name + nl - sl, suffix, sl) == 0)
			return (ssize_t)i;
	}
	return -1;
}

bool msi_name_check(ms_report *r, const char *prefix, const char *name, size_t len)
{
	char code[64];
	bool ok = true;
	if (len == 0) {
		snprintf(code, sizeof code, "%s.member.empty_name", prefix);
		msi_report_add(r, code, "", "a member has an empty name");
		return false;
	}
	if (memchr(name, '\0', len)) {
		snprintf(code, sizeof code, "%s.member.nul", prefix);
		msi_report_add(r, code, name, "member name contains a NUL byte");
		ok = false;
		len = strlen(name);
	}
	if (memchr(name, '\\', len)) {
		snprintf(code, sizeof code, "%s.member.backslash", prefix);
		msi_report_add(r, code, name, "member name '%.200s' contains a backslash", name);
		ok = false;
	}
	if (name[0] == '/' || (len >= 2 && name[1] == ':')) {
		snprintf(code, sizeof code, "%s.member.absolute_path", prefix);
		msi_report_add(r, code, name, "member name '%.200s' is an absolute path", name);
		ok = false;
	}
	/* '..' as a whole component, with '/' or '\\' as separators */
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && name[j] != '/' && name[j] != '\\')
			j++;
		if (j - i == 2 && name[i] == '.' && name[i + 1] == '.') {
			snprintf(code, sizeof code, "%s.member.path_traversal", prefix);
			msi_report_add(r, code, name, "member name '%.200s' climbs out of the archive with '..'", name);
			ok = false;
			break;
		}
		i = j + 1;
	}
	return ok;
}
