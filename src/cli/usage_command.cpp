// plinth usage: the ledger's grouped usage report, offline on a data dir, with what-if pricing.
#include <boost/json.hpp>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include "commands.h"
#include "plinth/catalog/catalog.h"
#include "plinth/core/config.h"
#include "plinth/ledger/ledger.h"
#include "plinth/store/store.h"

namespace plinth::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

struct UsageOptions {
  std::string data_dir;
  std::string group_by = "model";
  std::string from, to;
  bool json = false;
  std::string price_as;
  std::string config_file;
};

int report_error(const std::string& message) {
  std::fprintf(stderr, "plinth usage: %s\n", message.c_str());
  return 1;
}

// Micro-dollars as dollars with six decimals, exactly (no floating point).
std::string dollars(int64_t micro_usd) {
  char text[48];
  int64_t magnitude = micro_usd < 0 ? -micro_usd : micro_usd;
  std::snprintf(text, sizeof text, "%s%" PRId64 ".%06" PRId64, micro_usd < 0 ? "-" : "",
                magnitude / 1'000'000, magnitude % 1'000'000);
  return text;
}

int64_t what_if_micro_usd(const catalog::ModelEntry* model, const ledger::UsageTotals& totals) {
  return catalog::compute_cost(*model, totals.input_tokens, totals.output_tokens).micro_usd();
}

void print_table(const ledger::UsageReport& report, std::string_view group_by,
                 const catalog::ModelEntry* what_if) {
  size_t width = std::max<size_t>(group_by.size(), 5);
  for (const auto& group : report.groups) width = std::max(width, group.key.size());
  std::string what_if_header = what_if ? "  AS " + what_if->id + " USD" : "";
  std::printf("%-*s %10s %14s %14s %16s %11s%s\n", static_cast<int>(width),
              std::string(group_by).c_str(), "REQUESTS", "INPUT_TOKENS", "OUTPUT_TOKENS",
              "COST_USD", "ESCALATIONS", what_if_header.c_str());
  auto row = [&](const std::string& key, const ledger::UsageTotals& t) {
    std::string extra = what_if ? "  " + dollars(what_if_micro_usd(what_if, t)) : "";
    std::printf("%-*s %10" PRId64 " %14" PRId64 " %14" PRId64 " %16s %11" PRId64 "%s\n",
                static_cast<int>(width), key.empty() ? "(none)" : key.c_str(), t.requests,
                t.input_tokens, t.output_tokens, dollars(t.cost_micro_usd).c_str(), t.escalations,
                extra.c_str());
  };
  for (const auto& group : report.groups) row(group.key, group.totals);
  row("TOTAL", report.total);
}

// The /v1/usage JSON; with what-if pricing each group and the total also carry
// "what_if_cost_usd", and the top level names the model as "what_if_model".
std::string report_json(const ledger::UsageReport& report, const catalog::ModelEntry* what_if) {
  std::string body = ledger::usage_report_json(report);
  if (!what_if) return body;
  json::object object = json::parse(body).as_object();
  json::array& groups = object["groups"].as_array();
  for (size_t i = 0; i < groups.size(); ++i) {
    groups[i].as_object()["what_if_cost_usd"] =
        static_cast<double>(what_if_micro_usd(what_if, report.groups[i].totals)) / 1e6;
  }
  object["total"].as_object()["what_if_cost_usd"] =
      static_cast<double>(what_if_micro_usd(what_if, report.total)) / 1e6;
  object["what_if_model"] = what_if->id;
  return json::serialize(object);
}

int run_usage(const UsageOptions& o) {
  std::optional<Config> config;
  if (!o.config_file.empty()) {
    auto loaded = load_config(o.config_file);
    if (!loaded) return report_error(loaded.error().message);
    config = std::move(*loaded);
  }
  std::optional<catalog::Catalog> catalog;
  const catalog::ModelEntry* what_if = nullptr;
  if (!o.price_as.empty()) {
    if (!config) return report_error("--price-as needs --config FILE (the catalog's prices)");
    auto built = catalog::Catalog::from_config(*config);
    if (!built) return report_error(built.error().message);
    catalog = std::move(*built);
    auto model = catalog->resolve(o.price_as);
    if (!model) return report_error(model.error().message);
    what_if = *model;
  }
  ledger::UsageQuery query;
  auto grouping = ledger::parse_grouping(o.group_by);
  if (!grouping) return report_error(grouping.error().message);
  query.group_by = grouping->by;
  query.label_key = grouping->label_key;
  if (!o.from.empty()) {
    auto from = ledger::parse_time_bound(o.from);
    if (!from) return report_error(from.error().message);
    query.from_ms = *from;
  }
  if (!o.to.empty()) {
    auto to = ledger::parse_time_bound(o.to);
    if (!to) return report_error(to.error().message);
    query.to_ms = *to;
  }

  fs::path data_dir = !o.data_dir.empty() ? fs::path(o.data_dir)
                      : config            ? config->data_dir
                                          : fs::path("plinth-data");
  // Opening a store creates one; a report on a data dir that was never served is a mistake.
  if (!fs::exists(data_dir / "plinth.db")) {
    return report_error("no store at " + (data_dir / "plinth.db").string() +
                        " (use --data-dir, or --config naming the data_dir)");
  }
  auto store = store::open_default_store(data_dir, Random::secure());
  if (!store) return report_error(store.error().message);
  store::Database* database = (*store)->database();
  if (database == nullptr) return report_error("this store has no SQLite database for a ledger");
  auto ledger = ledger::open_sqlite_ledger(*database);
  if (!ledger) return report_error(ledger.error().message);
  auto report = (*ledger)->query(query);
  if (!report) return report_error(report.error().message);

  if (o.json) {
    std::cout << report_json(*report, what_if) << "\n";
  } else {
    print_table(*report, o.group_by, what_if);
  }
  return 0;
}

}  // namespace

void add_usage_command(CLI::App& app, Action* action) {
  auto o = std::make_shared<UsageOptions>();
  auto* usage = app.add_subcommand("usage", "Report recorded usage and cost from the ledger");
  usage->add_option("--data-dir", o->data_dir,
                    "State directory (default: the config's, or ./plinth-data)");
  usage
      ->add_option("--group-by", o->group_by,
                   "model, principal, tag, day, operation, profile, tag:KEY (a profile tag) "
                   "or metadata:KEY (Converse requestMetadata)")
      ->capture_default_str();
  usage->add_option("--from", o->from, "Start (inclusive): Unix seconds or ISO 8601");
  usage->add_option("--to", o->to, "End (exclusive): Unix seconds or ISO 8601");
  usage->add_flag("--json", o->json, "Print the /v1/usage JSON instead of a table");
  usage->add_option("--price-as", o->price_as,
                    "What-if: also price the same tokens at this catalog model's prices");
  usage->add_option("--config", o->config_file, "TOML config file (the catalog for --price-as)")
      ->check(CLI::ExistingFile);
  usage->callback([o, action] { *action = [o] { return run_usage(*o); }; });
}

}  // namespace plinth::cli
