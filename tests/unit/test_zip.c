/* Unit tests: zip (to be written). */
#include "harness.h"

#include "core/internal.h"

static void test_placeholder(void)
{
	CHECK(ms_version() > 0);
}

static const msi_test_case cases[] = {
	{ "placeholder", test_placeholder },
};

MSI_TEST_MAIN(cases)
