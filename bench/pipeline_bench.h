// The pipeline part of `plinth bench documents`: generated PDFs through the documents service.
#pragma once

#include <filesystem>

#include "documents_bench.h"
#include "plinth/core/result.h"

namespace plinth::bench {

// Submits options.documents PDFs of options.pages pages at once to a fresh database in `dir`,
// runs options.workers workers until every job has ended, and prints the figures. kInternal when
// a document failed (after printing).
Status run_pipeline_part(const DocumentsBenchOptions& options, const Config& config,
                         const std::filesystem::path& dir);

}  // namespace plinth::bench
