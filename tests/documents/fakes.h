// Test doubles for the documents service's collaborators: an in-memory queue, vector store,
// provider and ledger (the end-to-end acceptance test uses the real ones).
#pragma once

#include <map>
#include <mutex>

#include "plinth/jobs/queue.h"
#include "plinth/ledger/ledger.h"
#include "plinth/providers/provider.h"
#include "plinth/vectors/vector_store.h"

namespace plinth::documents::testing {

class FakeQueue final : public jobs::Queue {
 public:
  Result<std::string> enqueue(const jobs::NewJob& job) override {
    std::string id = "job-" + std::to_string(jobs_.size() + 1);
    jobs::JobRecord record;
    record.id = id;
    record.queue = job.queue;
    record.account_id = job.account_id;
    record.payload = job.payload;
    jobs_[id] = record;
    order_.push_back(id);
    return id;
  }
  Result<std::optional<jobs::JobLease>> claim(std::string_view queue) override {
    for (const std::string& id : order_) {
      jobs::JobRecord& job = jobs_[id];
      if (job.queue == queue && job.status == jobs::JobStatus::kQueued) {
        job.status = jobs::JobStatus::kRunning;
        ++job.receive_count;
        return std::optional<jobs::JobLease>(jobs::JobLease{job, "r", 0});
      }
    }
    return std::optional<jobs::JobLease>();
  }
  Result<std::optional<jobs::JobLease>> claim_wait(std::string_view queue,
                                                   std::chrono::milliseconds) override {
    return claim(queue);
  }
  Status extend(jobs::JobLease&) override { return ok(); }
  Status complete(const jobs::JobLease& lease, std::string_view result) override {
    jobs_[lease.job.id].status = jobs::JobStatus::kSucceeded;
    jobs_[lease.job.id].result = std::string(result);
    return ok();
  }
  Status fail(const jobs::JobLease& lease, std::string_view reason, bool retryable) override {
    jobs_[lease.job.id].status = retryable ? jobs::JobStatus::kQueued : jobs::JobStatus::kFailed;
    jobs_[lease.job.id].error = std::string(reason);
    return ok();
  }
  Result<jobs::JobRecord> get(std::string_view id, std::string_view account) override {
    auto it = jobs_.find(std::string(id));
    if (it == jobs_.end() || (!account.empty() && it->second.account_id != account)) {
      return plinth::fail(ErrorCode::kNotFound, "no job");
    }
    return it->second;
  }
  Result<std::vector<jobs::JobRecord>> list(std::string_view account, int limit) override {
    std::vector<jobs::JobRecord> out;
    for (auto it = order_.rbegin(); it != order_.rend() && static_cast<int>(out.size()) < limit;
         ++it) {
      if (jobs_[*it].account_id == account) out.push_back(jobs_[*it]);
    }
    return out;
  }
  Result<std::vector<jobs::JobRecord>> list_dead(std::string_view) override { return {}; }
  Result<int> redrive(std::string_view, std::string_view) override { return 0; }
  Result<int64_t> depth(std::string_view) override { return 0; }
  Result<int64_t> append_event(std::string_view id, std::string_view type,
                               std::string_view data) override {
    auto& list = events_[std::string(id)];
    list.push_back(
        {static_cast<int64_t>(list.size() + 1), std::string(type), std::string(data), 0});
    return list.back().sequence;
  }
  Result<std::vector<jobs::JobEvent>> events_after(std::string_view id, int64_t after,
                                                   std::chrono::milliseconds) override {
    std::vector<jobs::JobEvent> out;
    for (const jobs::JobEvent& event : events_[std::string(id)]) {
      if (event.sequence > after) out.push_back(event);
    }
    return out;
  }

  std::map<std::string, jobs::JobRecord> jobs_;
  std::vector<std::string> order_;
  std::map<std::string, std::vector<jobs::JobEvent>> events_;
};

class FakeVectorStore final : public vectors::VectorStore {
 public:
  Result<vectors::KnowledgeBase> ensure_knowledge_base(std::string_view account,
                                                       std::string_view id,
                                                       std::string_view model) override {
    return vectors::KnowledgeBase{std::string(account), std::string(id), std::string(model), 0};
  }
  Result<vectors::KnowledgeBase> knowledge_base(std::string_view account,
                                                std::string_view id) override {
    return vectors::KnowledgeBase{std::string(account), std::string(id), "", 0};
  }
  Status add(const std::vector<vectors::ChunkVector>& chunks) override {
    ++add_calls;
    for (const auto& chunk : chunks) chunks_[{chunk.document_id, chunk.chunk_index}] = chunk;
    return ok();
  }
  Result<int> remove_document(std::string_view, std::string_view document) override {
    int removed = 0;
    for (auto it = chunks_.begin(); it != chunks_.end();) {
      if (it->first.first == document) {
        it = chunks_.erase(it);
        ++removed;
      } else {
        ++it;
      }
    }
    return removed;
  }
  Result<std::vector<vectors::SearchHit>> search(const vectors::SearchQuery& query) override {
    std::vector<vectors::SearchHit> hits;
    for (const auto& [key, chunk] : chunks_) {
      if (query.exclude_document_id && *query.exclude_document_id == key.first) continue;
      hits.push_back({key.first, key.second, chunk.text, chunk.metadata_json, 0.5f});
    }
    last_search_hits = hits.size();
    return hits;
  }
  Result<int64_t> count(std::string_view, std::string_view) override {
    return static_cast<int64_t>(chunks_.size());
  }

  std::map<std::pair<std::string, int>, vectors::ChunkVector> chunks_;
  int add_calls = 0;
  size_t last_search_hits = 0;
};

// Answers every schema request with a fixed valid object and streams a fixed analysis.
class FakeProvider final : public providers::Provider {
 public:
  Result<providers::InferenceResponse> infer(const providers::InferenceRequest& request,
                                             const providers::StreamCallback& on_event) override {
    ++infer_calls;
    if (max_prompt_chars > 0 && request.messages.front().content.front().text.size() >
                                    static_cast<size_t>(max_prompt_chars)) {
      return plinth::fail(ErrorCode::kContextLength, "the prompt exceeds the context length");
    }
    if (fail_next_analysis && !request.output_schema_json) {
      fail_next_analysis = false;
      return plinth::fail(ErrorCode::kUnavailable, "the model is busy");
    }
    providers::InferenceResponse response;
    response.model_id = request.model_id;
    std::string text;
    if (request.output_schema_json) {
      text = request.output_schema_json->find("\"label\"") != std::string::npos
                 ? R"({"label":"receipt"})"
                 : R"({"vendor":"ACME","total":12.5})";
      response.output_valid = !invalid_extractions;
    } else {
      last_analysis_prompt = request.messages.front().content.front().text;
      text = "An analysis of the document.";
      if (on_event) on_event(providers::StreamEvent::text_delta(text));
    }
    providers::ContentBlock block;
    block.text = text;
    response.content.push_back(block);
    response.usage = {100, 10};
    return response;
  }
  Result<providers::EmbeddingResponse> embed(const providers::EmbeddingRequest& request) override {
    ++embed_calls;
    return providers::EmbeddingResponse{request.model_id,
                                        {1.0f, static_cast<float>(request.text.size() % 7), 2.0f},
                                        static_cast<int64_t>(request.text.size() / 4 + 1)};
  }
  int infer_calls = 0;
  int embed_calls = 0;
  bool fail_next_analysis = false;
  bool invalid_extractions = false;  // schema-constrained answers come back invalid (still paid)
  int max_prompt_chars =
      0;  // > 0: longer user prompts fail with kContextLength, as a small model's
  std::string last_analysis_prompt;
};

class FakeLedger final : public ledger::Ledger {
 public:
  void record(ledger::UsageRecord record) override {
    std::lock_guard lock(mutex_);
    for (const auto& r : records) {
      if (r.request_id == record.request_id) return;
    }
    records.push_back(std::move(record));
  }
  Status flush() override { return ok(); }
  Result<ledger::UsageReport> query(const ledger::UsageQuery&) override { return {}; }
  Result<std::vector<ledger::UsageRecord>> recent(int) override { return records; }
  Result<ledger::UsageSeries> series(const ledger::SeriesQuery&) override { return {}; }
  Result<std::vector<ledger::SpendRow>> spend_since(int64_t) override { return {}; }
  std::mutex mutex_;
  std::vector<ledger::UsageRecord> records;
};

}  // namespace plinth::documents::testing
