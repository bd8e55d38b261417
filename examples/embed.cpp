// Embedding libmodelstore in C++: inspect and validate one artifact with
// RAII wrappers around the C handles.
#include <cstdio>
#include <memory>
#include <string>

#include <modelstore.h>

namespace {

struct ArtifactDeleter {
	void operator()(ms_artifact *a) const { ms_artifact_free(a); }
};
struct ReportDeleter {
	void operator()(ms_report *r) const { ms_report_free(r); }
};
struct TextDeleter {
	void operator()(char *p) const { ms_free(p); }
};

using Artifact = std::unique_ptr<ms_artifact, ArtifactDeleter>;
using Report = std::unique_ptr<ms_report, ReportDeleter>;
using Text = std::unique_ptr<char, TextDeleter>;

} // namespace

int main(int argc, char **argv)
{
	if (argc != 2) {
		std::fprintf(stderr, "usage: embed_cpp PATH\n");
		return 2;
	}
	if (ms_version() < MS_VERSION_NUMBER) {
		std::fprintf(stderr, "libmodelstore %s is older than the headers\n", ms_version_string());
		return 2;
	}
	ms_artifact *raw = nullptr;
	ms_open_options opts = MS_OPEN_OPTIONS_INIT;
	if (ms_artifact_open_path(&raw, argv[1], &opts) != MS_OK) {
		std::fprintf(stderr, "%s\n", ms_error_last());
		return 2;
	}
	Artifact artifact(raw);
	const char *format = ms_artifact_format(artifact.get());
	std::string name = format ? format : "unknown";

	ms_report *rep = nullptr;
	ms_validate_options vopts = MS_VALIDATE_OPTIONS_INIT;
	if (ms_artifact_validate(artifact.get(), &vopts, &rep) != MS_OK) {
		std::fprintf(stderr, "%s\n", ms_error_last());
		return 2;
	}
	Report report(rep);
	char *json = nullptr;
	if (ms_report_json(report.get(), &json, nullptr) != MS_OK)
		return 2;
	Text text(json);
	std::printf("format=%s valid=%d findings=%zu\n%s\n", name.c_str(), ms_report_valid(report.get()),
	            ms_report_count(report.get()), text.get());
	return ms_report_valid(report.get()) ? 0 : 1;
}
