// run_structured_bench: coverage and timing of compile, masks and validation over a schema set.
#include "plinth/structured/bench.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>
#include <sstream>

#include "plinth/structured/structured.h"

namespace plinth::structured {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Percentiles {
  double avg = 0, p50 = 0, p99 = 0;
};

Percentiles percentiles(std::vector<double> v) {
  Percentiles p;
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  p.avg = sum / v.size();
  p.p50 = v[v.size() / 2];
  p.p99 = v[std::min(v.size() - 1, v.size() * 99 / 100)];
  return p;
}

// A random-weight model at byte level: uniform among allowed bytes, steering to close once the
// output is long.
std::optional<std::string> byte_walk(const std::shared_ptr<const CompiledSchema>& schema,
                                     std::mt19937_64& rng) {
  constexpr size_t kSoftLimit = 400, kHardLimit = 200000;
  JsonMatcher m(schema);
  std::string text;
  std::vector<uint8_t> allowed;
  while (text.size() < kHardLimit) {
    if (m.is_complete() && (text.size() >= kSoftLimit || rng() % 3 == 0)) return text;
    allowed.clear();
    for (int b = 0; b < 256; ++b)
      if (m.can_feed(static_cast<uint8_t>(b))) allowed.push_back(static_cast<uint8_t>(b));
    if (allowed.empty()) return m.is_complete() ? std::optional(text) : std::nullopt;
    uint8_t pick = allowed[rng() % allowed.size()];
    if (text.size() >= kSoftLimit) {
      int64_t best = INT64_MAX;
      size_t ties = 0;
      for (uint8_t b : allowed) {
        JsonMatcher probe = m;
        probe.feed(b);
        int64_t d = probe.distance_to_close();
        if (d < best)
          best = d, pick = b, ties = 1;
        else if (d == best && rng() % ++ties == 0)
          pick = b;
      }
    }
    m.feed(pick);
    text.push_back(static_cast<char>(pick));
  }
  return std::nullopt;
}

// A random-weight model at token level through the constraint; mask times go to `mask_us`.
std::optional<std::string> token_walk(const std::shared_ptr<const CompiledSchema>& schema,
                                      const engine::Tokenizer& tokenizer, int32_t max_tokens,
                                      std::mt19937_64& rng, std::vector<double>& mask_us) {
  const TokenIndex& index = token_index_for(tokenizer);
  ConstraintOptions options;
  options.max_tokens = max_tokens;
  auto constraint = make_constraint(schema, index, options);
  std::string text;
  std::vector<uint8_t> allowed(index.vocab_size());
  std::vector<engine::TokenId> choices;
  for (int32_t step = 0; step < max_tokens; ++step) {
    std::fill(allowed.begin(), allowed.end(), 1);
    auto start = Clock::now();
    constraint->fill_mask(allowed);
    mask_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    choices.clear();
    for (int32_t id = 0; id < index.vocab_size(); ++id)
      if (allowed[id]) choices.push_back(id);
    if (choices.empty()) return std::nullopt;
    engine::TokenId pick = choices[rng() % choices.size()];
    constraint->accept(pick);
    if (index.is_end_of_generation(pick)) return text;
    text += index.token_text(pick);
  }
  return std::nullopt;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<StructuredBenchReport> run_structured_bench(const StructuredBenchOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(options.schemas, ec))
    return fail(ErrorCode::kNotFound, "no schema folder at " + options.schemas.string());
  // Sets: each subfolder, plus loose files in the folder itself.
  std::vector<std::pair<std::string, fs::path>> sets;
  sets.push_back({options.schemas.filename().string(), options.schemas});
  for (const auto& e : fs::directory_iterator(options.schemas))
    if (e.is_directory()) sets.push_back({e.path().filename().string(), e.path()});
  std::sort(sets.begin() + 1, sets.end());

  StructuredBenchReport report;
  std::vector<double> compile_ms, mask_us;
  std::mt19937_64 rng(options.seed);
  for (const auto& [name, dir] : sets) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path());
    if (files.empty()) continue;
    std::sort(files.begin(), files.end());
    if (options.max_schemas_per_set > 0 &&
        files.size() > static_cast<size_t>(options.max_schemas_per_set))
      files.resize(options.max_schemas_per_set);
    SetCoverage cov;
    cov.name = name;
    for (const auto& file : files) {
      ++cov.total;
      std::string schema_text = read_file(file);
      auto start = Clock::now();
      auto schema = compile_schema_uncached(schema_text);
      compile_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      if (!schema) continue;
      ++cov.compiled;
      auto output = options.tokenizer
                        ? token_walk(*schema, *options.tokenizer, options.max_tokens, rng, mask_us)
                        : byte_walk(*schema, rng);
      if (!output) {
        report.failures.push_back(file.string() + ": did not finish");
        continue;
      }
      ++cov.generated;
      auto valid = validate(schema_text, *output);
      if (valid || valid.error().message.starts_with("schema not usable")) {
        ++cov.valid;  // valijson unable to read the schema is not counted against the output
      } else {
        report.failures.push_back(file.string() + ": " + valid.error().message);
      }
    }
    report.sets.push_back(cov);
  }
  Percentiles c = percentiles(compile_ms), m = percentiles(mask_us);
  report.compile_ms_avg = c.avg, report.compile_ms_p50 = c.p50, report.compile_ms_p99 = c.p99;
  report.masks = static_cast<int64_t>(mask_us.size());
  report.mask_us_avg = m.avg, report.mask_us_p50 = m.p50, report.mask_us_p99 = m.p99;
  return report;
}

std::string format_report(const StructuredBenchReport& r) {
  std::ostringstream out;
  char line[256];
  SetCoverage all;
  all.name = "ALL";
  for (const auto& s : r.sets) {
    std::snprintf(line, sizeof line, "%-20s total %5d compiled %5d generated %5d valid %5d\n",
                  s.name.c_str(), s.total, s.compiled, s.generated, s.valid);
    out << line;
    all.total += s.total, all.compiled += s.compiled, all.generated += s.generated;
    all.valid += s.valid;
  }
  std::snprintf(line, sizeof line, "%-20s total %5d compiled %5d generated %5d valid %5d\n", "ALL",
                all.total, all.compiled, all.generated, all.valid);
  out << line;
  std::snprintf(line, sizeof line, "compile ms: avg %.2f p50 %.2f p99 %.2f\n", r.compile_ms_avg,
                r.compile_ms_p50, r.compile_ms_p99);
  out << line;
  if (r.masks > 0) {
    std::snprintf(line, sizeof line, "mask us: avg %.0f p50 %.0f p99 %.0f over %lld masks\n",
                  r.mask_us_avg, r.mask_us_p50, r.mask_us_p99, static_cast<long long>(r.masks));
    out << line;
  }
  for (const auto& f : r.failures) out << "FAIL " << f << "\n";
  return out.str();
}

}  // namespace plinth::structured
