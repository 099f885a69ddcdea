// Budget reservations around each model call of a pipeline stage (see budgeted_provider.h).
#include "budgeted_provider.h"

#include <algorithm>

#include "plinth/providers/request_estimate.h"

namespace plinth::documents {

BudgetedProvider::BudgetedProvider(providers::Provider& inner, const catalog::Catalog& catalog,
                                   ledger::Budgets* budgets, ledger::BudgetSubject subject)
    : inner_(inner), catalog_(catalog), budgets_(budgets), subject_(std::move(subject)) {}

BudgetedProvider::~BudgetedProvider() { settle(); }

Result<ledger::BudgetReservation> BudgetedProvider::reserve(const std::string& model_id,
                                                            int64_t input_tokens,
                                                            int64_t output_tokens) {
  if (budgets_ == nullptr || budgets_->empty()) return ledger::BudgetReservation();
  const catalog::ModelEntry* model = catalog_.find(model_id);
  if (model == nullptr) {
    return fail(ErrorCode::kNotFound, "the catalog has no model " + model_id);
  }
  // Rounded up: the hold never falls short of the cost settle() books.
  int64_t pico = catalog::compute_cost(*model, input_tokens, output_tokens).pico_usd;
  auto hold = budgets_->reserve(subject_, (pico + 999'999) / 1'000'000);
  if (!hold) refused_ = true;
  return hold;
}

void BudgetedProvider::spent(const std::string& model_id, int64_t input_tokens,
                             int64_t output_tokens) {
  if (const catalog::ModelEntry* model = catalog_.find(model_id)) {
    spent_pico_usd_ += catalog::compute_cost(*model, input_tokens, output_tokens).pico_usd;
  }
  spend_.model = model_id;
  spend_.input_tokens += input_tokens;
  spend_.output_tokens += output_tokens;
}

BudgetedProvider::Spend BudgetedProvider::unsettled() const {
  Spend spend = spend_;
  spend.micro_usd = (spent_pico_usd_ + 500'000) / 1'000'000;
  return spend;
}

Result<providers::InferenceResponse> BudgetedProvider::infer(
    const providers::InferenceRequest& request, const providers::StreamCallback& on_event) {
  auto hold = reserve(request.model_id, providers::estimated_input_tokens(request),
                      std::max<int64_t>(request.max_tokens, 0));
  if (!hold) return std::unexpected(hold.error());
  auto response = inner_.infer(request, on_event);
  if (!response) return response;  // the hold is released: a failed call costs nothing
  spent(request.model_id, response->usage.input_tokens, response->usage.output_tokens);
  holds_.push_back(std::move(*hold));
  return response;
}

Result<providers::EmbeddingResponse> BudgetedProvider::embed(
    const providers::EmbeddingRequest& request) {
  auto hold = reserve(request.model_id, static_cast<int64_t>(request.text.size()) + 16, 0);
  if (!hold) return std::unexpected(hold.error());
  auto response = inner_.embed(request);
  if (!response) return response;
  spent(request.model_id, response->input_tokens, 0);
  holds_.push_back(std::move(*hold));
  return response;
}

void BudgetedProvider::settle() {
  if (!holds_.empty()) {
    // Rounded half up, as catalog::Cost::micro_usd() rounds the stage's ledger record.
    holds_.front().settle((spent_pico_usd_ + 500'000) / 1'000'000);
  }
  holds_.clear();  // the other holds are released unspent
  spent_pico_usd_ = 0;
  spend_ = {};
}

}  // namespace plinth::documents
