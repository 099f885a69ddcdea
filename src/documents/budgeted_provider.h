// The provider a pipeline stage calls through: a budget reservation before every model call,
// and what the calls cost booked against the budgets when the stage settles.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plinth/catalog/catalog.h"
#include "plinth/ledger/budgets.h"
#include "plinth/providers/provider.h"

namespace plinth::documents {

// One stage's model calls, on the stage's worker thread (not thread-safe). Each call reserves
// its worst case (every prompt byte a token, max_tokens of output) from every budget matching
// `subject` and fails with kThrottled, naming the budget, when a hard limit would be exceeded;
// a failed call releases its hold. The holds of successful calls stay until settle() (or the
// destructor) books their exact total cost, so a hard budget is never exceeded.
class BudgetedProvider final : public providers::Provider {
 public:
  // budgets may be null (then calls pass through unreserved).
  BudgetedProvider(providers::Provider& inner, const catalog::Catalog& catalog,
                   ledger::Budgets* budgets, ledger::BudgetSubject subject);
  ~BudgetedProvider() override;
  BudgetedProvider(const BudgetedProvider&) = delete;
  BudgetedProvider& operator=(const BudgetedProvider&) = delete;

  Result<providers::InferenceResponse> infer(const providers::InferenceRequest& request,
                                             const providers::StreamCallback& on_event) override;
  Result<providers::EmbeddingResponse> embed(const providers::EmbeddingRequest& request) override;

  // Books what the successful calls cost (rounded once, like the stage's ledger record) and
  // releases every hold. Further calls start a new tally.
  void settle();
  // True once a call was refused by a budget.
  bool refused() const { return refused_; }

  // What the successful calls since the last settle() used and cost: a stage that fails after
  // a paid call still records it in the ledger (budgets are restored from the ledger).
  struct Spend {
    std::string model;  // the last model called
    int64_t input_tokens = 0, output_tokens = 0;
    int64_t micro_usd = 0;  // rounded as settle() books it
  };
  Spend unsettled() const;

 private:
  // Holds the worst-case cost of one call of `model_id`; kThrottled when a budget refuses.
  Result<ledger::BudgetReservation> reserve(const std::string& model_id, int64_t input_tokens,
                                            int64_t output_tokens);
  void spent(const std::string& model_id, int64_t input_tokens, int64_t output_tokens);

  providers::Provider& inner_;
  const catalog::Catalog& catalog_;
  ledger::Budgets* budgets_;
  ledger::BudgetSubject subject_;
  std::vector<ledger::BudgetReservation> holds_;  // of the calls that succeeded
  int64_t spent_pico_usd_ = 0;
  Spend spend_;  // tokens and model; micro_usd is filled in by unsettled()
  bool refused_ = false;
};

}  // namespace plinth::documents
