// What both budget books (in memory, PostgreSQL rows) share: which key a budget charges a subject
// under, and the refusal a caller reads when a hard limit would be exceeded.
#pragma once

#include <optional>
#include <string>

#include "plinth/core/result.h"
#include "plinth/ledger/budgets.h"

namespace plinth::ledger {

// The key `spec` counts this subject under, or nullopt when the budget does not apply.
std::optional<std::string> budget_key(const BudgetSpec& spec, const BudgetSubject& subject);

// kThrottled naming the budget, its limit, what is spent and held, and this request's estimate.
Error refusal(const BudgetSpec& spec, const std::string& key, int64_t spent, int64_t reserved,
              int64_t estimate);

}  // namespace plinth::ledger
