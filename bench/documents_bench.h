// `plinth bench documents`: the document pipeline end to end on a config's models, the durable
// queue's enqueue → claim latency, and vector search recall and latency, each printed with its
// target.
#pragma once

#include <string>

#include "plinth/core/config.h"

namespace plinth::bench {

struct DocumentsBenchOptions {
  int documents = 20;
  int pages = 10;
  int workers = 2;
  int vectors = 100'000;
  int dimensions = 384;
  int queue_jobs = 2000;
  bool skip_vectors = false;
  std::string data_dir;  // "" = a fresh temp dir, removed afterwards
  // postgresql://…: the pipeline part keeps its queue, documents, ledger and vectors in this
  // (empty) database, as replicas do; "" = SQLite in data_dir.
  std::string storage_url;
};

// Prints one block per part to stdout; returns the process exit code (1 when a part could not
// run or a document failed; a missed target is reported, not an error).
int run_documents_bench(const DocumentsBenchOptions& options, const Config& config);

}  // namespace plinth::bench
