// Usage-report values shared by the gateway and the CLI: group-by names, time bounds, JSON.
#include <boost/json.hpp>
#include <charconv>
#include <chrono>

#include "plinth/ledger/ledger.h"
#include "utf8_repair.h"

namespace plinth::ledger {
namespace {

namespace json = boost::json;

// Reads exactly `digits` decimal digits at `pos`; advances pos.
bool read_number(std::string_view text, size_t& pos, size_t digits, int& out) {
  if (pos + digits > text.size()) return false;
  auto [end, ec] = std::from_chars(text.data() + pos, text.data() + pos + digits, out);
  if (ec != std::errc() || end != text.data() + pos + digits) return false;
  pos += digits;
  return true;
}

bool expect(std::string_view text, size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

json::object totals_json(const UsageTotals& totals) {
  return {{"requests", totals.requests},
          {"input_tokens", totals.input_tokens},
          {"output_tokens", totals.output_tokens},
          {"cost_usd", totals.cost_usd()},
          {"escalations", totals.escalations}};
}

json::object labels_object(const Labels& labels) {
  json::object out;
  for (const Label& label : labels) out[repaired_utf8(label.key)] = repaired_utf8(label.value);
  return out;
}

}  // namespace

Result<GroupBy> parse_group_by(std::string_view text) {
  for (GroupBy g : {GroupBy::kModel, GroupBy::kPrincipal, GroupBy::kTag, GroupBy::kDay,
                    GroupBy::kOperation, GroupBy::kProfile}) {
    if (text == to_string(g)) return g;
  }
  return fail(ErrorCode::kInvalidArgument,
              "group_by must be one of model, principal, tag, day, operation, profile, tag:KEY, "
              "metadata:KEY; got '" +
                  std::string(text.substr(0, 300)) + "'.");
}

Result<Grouping> parse_grouping(std::string_view text) {
  for (auto [prefix, by] : {std::pair{std::string_view("tag:"), GroupBy::kProfileTag},
                            std::pair{std::string_view("metadata:"), GroupBy::kMetadata}}) {
    if (!text.starts_with(prefix)) continue;
    std::string_view key = text.substr(prefix.size());
    if (key.empty() || key.size() > kMaxLabelKeyBytes) {
      return fail(ErrorCode::kInvalidArgument, "group_by " + std::string(prefix) +
                                                   "KEY needs a key of 1 to " +
                                                   std::to_string(kMaxLabelKeyBytes) + " bytes.");
    }
    return Grouping{by, std::string(key)};
  }
  auto by = parse_group_by(text);
  if (!by) return std::unexpected(by.error());
  return Grouping{*by, ""};
}

std::string labels_json(const Labels& labels) {
  json::object out;
  for (const Label& label : labels) out[label.key] = label.value;
  return json::serialize(out);
}

Labels parse_labels_json(std::string_view text) {
  Labels labels;
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return labels;
  for (const auto& [key, v] : value.as_object()) {
    if (v.is_string()) labels.push_back({std::string(key), std::string(v.as_string())});
  }
  return labels;
}

std::string_view to_string(GroupBy group_by) {
  switch (group_by) {
    case GroupBy::kModel:
      return "model";
    case GroupBy::kPrincipal:
      return "principal";
    case GroupBy::kTag:
      return "tag";
    case GroupBy::kDay:
      return "day";
    case GroupBy::kOperation:
      return "operation";
    case GroupBy::kProfile:
      return "profile";
    case GroupBy::kProfileTag:
      return "tag:";
    case GroupBy::kMetadata:
      return "metadata:";
  }
  return "model";
}

Result<int64_t> parse_time_bound(std::string_view text) {
  auto invalid = [&] {
    return fail(ErrorCode::kInvalidArgument,
                "Invalid time '" + std::string(text) +
                    "': use Unix seconds or ISO 8601 (2025-11-25 or 2025-11-25T10:11:43Z).");
  };
  if (text.empty() || text.size() > 40) return invalid();
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    int64_t seconds = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec != std::errc() || seconds > std::numeric_limits<int64_t>::max() / 1000) {
      return invalid();
    }
    return seconds * 1000;
  }
  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_number(text, pos, 4, year) || !expect(text, pos, '-') ||
      !read_number(text, pos, 2, month) || !expect(text, pos, '-') ||
      !read_number(text, pos, 2, day)) {
    return invalid();
  }
  std::chrono::year_month_day date{std::chrono::year(year), std::chrono::month(month),
                                   std::chrono::day(day)};
  if (!date.ok()) return invalid();
  int64_t millis = 0;
  int64_t offset_minutes = 0;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') return invalid();
    ++pos;
    if (!read_number(text, pos, 2, hour) || !expect(text, pos, ':') ||
        !read_number(text, pos, 2, minute) || !expect(text, pos, ':') ||
        !read_number(text, pos, 2, second) || hour > 23 || minute > 59 || second > 60) {
      return invalid();
    }
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      int64_t scale = 100;
      size_t digits = 0;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        millis += (text[pos] - '0') * scale;
        scale /= 10;
        ++pos;
        ++digits;
      }
      if (digits == 0) return invalid();
    }
    if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
      ++pos;
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
      int sign = text[pos] == '-' ? -1 : 1;
      ++pos;
      int oh = 0, om = 0;
      if (!read_number(text, pos, 2, oh) || !expect(text, pos, ':') ||
          !read_number(text, pos, 2, om) || oh > 23 || om > 59) {
        return invalid();
      }
      offset_minutes = sign * (oh * 60 + om);
    }
    if (pos != text.size()) return invalid();
  }
  int64_t days = std::chrono::sys_days(date).time_since_epoch().count();
  int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return seconds * 1000 + millis;
}

std::string usage_report_json(const UsageReport& report) {
  json::array groups;
  groups.reserve(report.groups.size());
  for (const UsageGroup& group : report.groups) {
    json::object object = totals_json(group.totals);
    // Key first, as the documented shape lists it.
    json::object keyed{{"key", repaired_utf8(group.key)}};
    for (auto& [name, value] : object) keyed[name] = std::move(value);
    groups.push_back(std::move(keyed));
  }
  return json::serialize(
      json::object{{"groups", std::move(groups)}, {"total", totals_json(report.total)}});
}

Result<SeriesBucket> parse_series_bucket(std::string_view text) {
  if (text == "hour") return SeriesBucket::kHour;
  if (text == "day") return SeriesBucket::kDay;
  return fail(ErrorCode::kInvalidArgument,
              "bucket must be hour or day; got '" + std::string(text) + "'.");
}

std::string_view to_string(SeriesBucket bucket) {
  return bucket == SeriesBucket::kDay ? "day" : "hour";
}

int64_t bucket_ms(SeriesBucket bucket) {
  return bucket == SeriesBucket::kDay ? 86'400'000 : 3'600'000;
}

std::string usage_series_json(const UsageSeries& series) {
  json::array lines;
  lines.reserve(series.series.size());
  for (const SeriesLine& line : series.series) {
    json::array requests, input_tokens, output_tokens, cost_usd, escalations;
    for (const UsageTotals& point : line.points) {
      requests.push_back(point.requests);
      input_tokens.push_back(point.input_tokens);
      output_tokens.push_back(point.output_tokens);
      cost_usd.push_back(point.cost_usd());
      escalations.push_back(point.escalations);
    }
    lines.push_back(json::object{{"key", repaired_utf8(line.key)},
                                 {"requests", std::move(requests)},
                                 {"input_tokens", std::move(input_tokens)},
                                 {"output_tokens", std::move(output_tokens)},
                                 {"cost_usd", std::move(cost_usd)},
                                 {"escalations", std::move(escalations)}});
  }
  json::array buckets(series.buckets.begin(), series.buckets.end());
  return json::serialize(json::object{{"bucket", to_string(series.bucket)},
                                      {"buckets", std::move(buckets)},
                                      {"series", std::move(lines)}});
}

std::string usage_calls_json(const std::vector<UsageRecord>& calls) {
  json::array out;
  out.reserve(calls.size());
  for (const UsageRecord& r : calls) {
    out.push_back(json::object{{"time_ms", r.time_ms},
                               {"account_id", repaired_utf8(r.account_id)},
                               {"principal_arn", repaired_utf8(r.principal_arn)},
                               {"role_session", repaired_utf8(r.role_session)},
                               {"application_tag", repaired_utf8(r.application_tag)},
                               {"operation", repaired_utf8(r.operation)},
                               {"model_requested", repaired_utf8(r.model_requested)},
                               {"model_used", repaired_utf8(r.model_used)},
                               {"input_tokens", r.input_tokens},
                               {"output_tokens", r.output_tokens},
                               {"latency_ms", r.latency_ms},
                               {"cost_micro_usd", r.cost_micro_usd},
                               {"cost_usd", static_cast<double>(r.cost_micro_usd) / 1e6},
                               {"escalated", r.escalated},
                               {"escalation_reason", repaired_utf8(r.escalation_reason)},
                               {"status", repaired_utf8(r.status)},
                               {"request_id", repaired_utf8(r.request_id)},
                               {"inference_profile", repaired_utf8(r.inference_profile)},
                               {"profile_tags", labels_object(r.profile_tags)},
                               {"request_metadata", labels_object(r.request_metadata)},
                               {"provider", repaired_utf8(r.provider)},
                               {"cache_read_input_tokens", r.cache_read_input_tokens},
                               {"cache_write_input_tokens", r.cache_write_input_tokens}});
  }
  return json::serialize(json::object{{"calls", std::move(out)}});
}

}  // namespace plinth::ledger
