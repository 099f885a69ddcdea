// One knowledge base's in-memory approximate nearest-neighbour index (hnswlib HNSW, inner product
// on unit vectors, so distance = 1 - cosine). Private to the vectors module.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "plinth/core/result.h"
#include "plinth/vectors/vector_store.h"

namespace plinth::vectors {

struct IndexPoint {
  uint64_t label;     // the chunk's row id in vectors_chunks
  const float* data;  // `dimensions` floats, unit length
};

struct Neighbour {
  uint64_t label;
  float score;  // inner product (cosine for unit vectors)
};

// Where a saved index goes and comes from (index_file.cpp checksums what passes through).
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Status write(const void* data, size_t size) = 0;
};
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // kCorruptData when fewer than `size` bytes are left.
  virtual Status read(void* data, size_t size) = 0;
  virtual uint64_t remaining() const = 0;
};

// The live labels of an index, summarized so that they can be compared with the store's rows.
struct LabelSummary {
  uint64_t count = 0;
  uint64_t min = 0;
  uint64_t max = 0;
  uint64_t sum = 0;  // modulo 2^64
  bool operator==(const LabelSummary&) const = default;
};

// Not synchronized: the owner serializes writers against readers (search() may run
// concurrently with other search() calls).
class AnnIndex {
 public:
  AnnIndex(int dimensions, const IndexOptions& options);
  ~AnnIndex();
  AnnIndex(const AnnIndex&) = delete;
  AnnIndex& operator=(const AnnIndex&) = delete;

  int dimensions() const { return dimensions_; }
  // Points present and not deleted.
  size_t live() const;
  // Points marked deleted (still in the graph).
  size_t deleted() const;

  // Adds points with new labels, growing the capacity as needed; large batches are inserted on
  // several threads. kInternal when hnswlib fails (out of memory).
  Status add(std::span<const IndexPoint> points);
  // Marks a label deleted (searches skip it); unknown or already deleted labels are ignored.
  void remove(uint64_t label);
  // Up to k nearest live points, best first.
  Result<std::vector<Neighbour>> search(const float* query, size_t k) const;
  LabelSummary live_labels() const;

  // The graph, its vectors, labels and deletion marks. Readers may search meanwhile.
  Status save(ByteSink& out) const;
  // An index saved by save() with the same dimensions and options.m; every structural field is
  // bounds-checked, so a damaged stream yields kCorruptData, never a crash.
  static Result<std::unique_ptr<AnnIndex>> load(ByteSource& in, int dimensions,
                                                const IndexOptions& options);

 private:
  AnnIndex(int dimensions, const IndexOptions& options, int empty);  // for load(): no Impl yet
  struct Impl;
  int dimensions_;
  IndexOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace plinth::vectors
