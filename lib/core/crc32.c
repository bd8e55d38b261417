/* CRC-32 (zip's). libdeflate's CLMUL version runs ~5x zlib's here; zlib is
 * the fallback where libdeflate is absent. */
#include "internal.h"

#ifdef MSI_HAVE_LIBDEFLATE
#include <libdeflate.h>
#else
#include <zlib.h>
#endif

uint32_t msi_crc32(uint32_t crc, const void *data, size_t len)
{
#ifdef MSI_HAVE_LIBDEFLATE
	return libdeflate_crc32(crc, data, len);
#else
	const uint8_t *p = data;
	while (len > 0) {
		uInt chunk = len > 0x40000000u ? 0x40000000u : (uInt)len;
		crc = (uint32_t)crc32(crc, p, chunk);
		p += chunk;
		len -= chunk;
	}
	return crc;
#endif
}
