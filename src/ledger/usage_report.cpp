// Usage-report values shared by the gateway and the CLI: group-by names, time bounds, JSON.
#include <boost/json.hpp>
#include <charconv>
#include <chrono>

#include "plinth/ledger/ledger.h"

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

}  // namespace

Result<GroupBy> parse_group_by(std::string_view text) {
  for (GroupBy g :
       {GroupBy::kModel, GroupBy::kPrincipal, GroupBy::kTag, GroupBy::kDay, GroupBy::kOperation}) {
    if (text == to_string(g)) return g;
  }
  return fail(ErrorCode::kInvalidArgument,
              "group_by must be one of model, principal, tag, day, operation; got '" +
                  std::string(text) + "'.");
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
    json::object keyed{{"key", group.key}};
    for (auto& [name, value] : object) keyed[name] = std::move(value);
    groups.push_back(std::move(keyed));
  }
  return json::serialize(
      json::object{{"groups", std::move(groups)}, {"total", totals_json(report.total)}});
}

}  // namespace plinth::ledger
