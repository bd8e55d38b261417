/*
 * Every finding code the library can emit, with its severity and meaning.
 * This table is the documentation (the README's table is generated from
 * `modelstore codes`); a finding whose code is missing here is reported as
 * "internal.unknown_code", and a test fails on it. Codes are stable: never
 * rename or reuse one, only add.
 */
#include "report.h"

#define E MS_SEVERITY_ERROR
#define W MS_SEVERITY_WARNING
#define I MS_SEVERITY_INFO

const msi_code_info msi_codes[] = {
	/* artifact: the whole input */
	{ "artifact.empty", E, "the file is empty (0 bytes)" },
	{ "artifact.format.forced", I, "the data format was given by the caller, not detected" },
	{ "artifact.format.unknown", E, "no known model format was recognised in the bytes" },
	{ "artifact.format.not_model", E, "the file is of a known kind that is not a model (e.g. a plain HDF5 file)" },
	{ "artifact.read_error", E, "the artifact could not be read to the end (I/O error or the file changed)" },
	{ "artifact.limit", E, "a configured limit was reached before the artifact was fully checked" },

	/* serialzy frame */
	{ "serialzy.header.truncated", E, "the serialzy header runs past the end of the stream" },
	{ "serialzy.header.too_large", E, "the serialzy header length is larger than the configured limit" },
	{ "serialzy.header.json", E, "the serialzy header is not valid JSON" },
	{ "serialzy.header.not_object", E, "the serialzy header is JSON but not an object" },
	{ "serialzy.header.missing_key", E, "the serialzy header lacks data_format" },
	{ "serialzy.header.unknown_key", E, "the serialzy header has a key serialzy does not accept (its Schema(**json) fails)" },
	{ "serialzy.header.type", E, "a serialzy header field has the wrong JSON type" },
	{ "serialzy.header.key_order", I, "the header keys are not in serialzy's order (data_format, schema_format, schema_content, meta)" },
	{ "serialzy.header.non_ascii", I, "the header holds raw non-ASCII bytes; serialzy writes ASCII-only JSON" },
	{ "serialzy.format.unknown", W, "the header names a data format this library does not know" },
	{ "serialzy.format.mismatch", E, "the header's data_format differs from the format of the payload bytes" },
	{ "serialzy.schema.invalid", W, "schema_content is not the JSON serialzy writes for its schema_format" },
	{ "serialzy.user_meta.invalid", W, "meta[\"user-meta\"] is not a string holding a JSON object" },
	{ "serialzy.payload.empty", E, "the stream has a header but no payload" },

	/* zip */
	{ "zip.eocd.missing", E, "no end-of-central-directory record was found" },
	{ "zip.eocd.invalid", E, "the end-of-central-directory record is inconsistent" },
	{ "zip.eocd.multiple_disks", E, "the archive claims to span several disks" },
	{ "zip.zip64.invalid", E, "a ZIP64 record or extra field is missing, truncated or inconsistent" },
	{ "zip.cd.invalid", E, "a central directory entry is truncated or has a bad signature" },
	{ "zip.cd.count_mismatch", E, "the central directory holds a different number of entries than the EOCD says" },
	{ "zip.cd.out_of_bounds", E, "the central directory lies outside the file" },
	{ "zip.prefix_data", E, "bytes precede the first local header (a polyglot file, e.g. pickle + zip)" },
	{ "zip.trailing_data", W, "bytes follow the end-of-central-directory record" },
	{ "zip.gap", W, "unaccounted bytes lie between members" },
	{ "zip.member.absolute_path", E, "a member name is an absolute path" },
	{ "zip.member.path_traversal", E, "a member name has a '..' component (zip-slip)" },
	{ "zip.member.backslash", E, "a member name contains a backslash" },
	{ "zip.member.nul", E, "a member name contains a NUL byte" },
	{ "zip.member.empty_name", E, "a member has an empty name" },
	{ "zip.member.duplicate", E, "two members have the same name" },
	{ "zip.member.encrypted", E, "a member is encrypted" },
	{ "zip.member.method", E, "a member uses a compression method other than stored or deflate" },
	{ "zip.member.too_large", E, "a member declares an uncompressed size above the configured limit" },
	{ "zip.member.ratio", E, "a member declares a compression ratio typical of zip bombs" },
	{ "zip.member.out_of_bounds", E, "a member's local header or data lies outside the file" },
	{ "zip.member.overlap", E, "two members' data overlap" },
	{ "zip.member.stored_size", E, "a stored member's compressed and uncompressed sizes differ" },
	{ "zip.local.invalid", E, "a local file header has a bad signature or is truncated" },
	{ "zip.local.name_mismatch", E, "a local header's name differs from the central directory's" },
	{ "zip.local.field_mismatch", W, "a local header's method, flags or sizes differ from the central directory's" },
	{ "zip.member.crc", E, "a member's CRC-32 does not match its data" },
	{ "zip.member.size_mismatch", E, "a member inflates to a size other than the declared one" },
	{ "zip.member.inflate", E, "a member's deflate stream is corrupt" },
	{ "zip.libzip.rejected", W, "libzip's consistency check refuses the archive" },

	/* tar */
	{ "tar.header.checksum", E, "a tar header's checksum is wrong" },
	{ "tar.header.invalid", E, "a tar header has an invalid numeric field or magic" },
	{ "tar.truncated", E, "the archive ends inside a header or a member's data" },
	{ "tar.end.missing", W, "the archive lacks the two zero blocks that end it" },
	{ "tar.trailing_data", W, "non-zero bytes follow the end-of-archive blocks" },
	{ "tar.pax.invalid", E, "a pax extended header record is malformed" },
	{ "tar.member.absolute_path", E, "a member name is an absolute path" },
	{ "tar.member.path_traversal", E, "a member name has a '..' component" },
	{ "tar.member.backslash", E, "a member name contains a backslash" },
	{ "tar.member.empty_name", E, "a member has an empty name" },
	{ "tar.member.nul", E, "a member name contains a NUL byte" },
	{ "tar.member.duplicate", W, "two members have the same name (the later one wins on extraction)" },
	{ "tar.member.device", E, "a member is a device, FIFO or other special file" },
	{ "tar.member.link_escape", E, "a symlink or hard link member points outside the archive root" },
	{ "tar.member.link", W, "a symlink or hard link member (contained in the root)" },
	{ "tar.member.too_large", E, "a member declares a size above the configured limit" },
	{ "tar.member.type", W, "a member has a type flag this reader does not know" },
	{ "tar.too_many_members", E, "the archive holds more members, or more name bytes, than the configured limits" },
	{ "tar.header.size_ignored", W, "a link, directory or device header declares a data size (readers disagree on skipping it)" },

	/* directory */
	{ "dir.symlink.escape", E, "a symlink in the directory resolves outside it" },
	{ "dir.symlink", W, "the directory holds a symlink (not followed)" },
	{ "dir.special_file", W, "the directory holds a device, FIFO or socket (skipped)" },
	{ "dir.unreadable", E, "a file or folder inside the directory cannot be read" },
	{ "dir.too_many_members", E, "the directory holds more entries than the configured limit" },
	{ "dir.too_deep", E, "the directory nests deeper than the configured limit" },
};

const size_t msi_code_count = sizeof msi_codes / sizeof msi_codes[0];
