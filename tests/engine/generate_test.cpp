// Model::generate: continuous batching, cancellation, context limits, stop sequences, streaming,
// constraints, and request validation.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <thread>

#include "model/model_impl.h"
#include "model/text_stream.h"

namespace plinth::engine {
namespace {

const std::filesystem::path kModels = std::filesystem::path(PLINTH_TEST_DATA_DIR) / "models";

std::shared_ptr<Model> load(const std::string& name, LoadOptions options = {.threads = 2}) {
  auto model = Model::load(kModels / (name + ".gguf"), options);
  EXPECT_TRUE(model) << (model ? "" : model.error().message);
  return model ? *model : nullptr;
}

GenerateRequest greedy_request(std::vector<TokenId> prompt, int32_t max_tokens) {
  GenerateRequest r;
  r.prompt = std::move(prompt);
  r.max_tokens = max_tokens;
  return r;
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t n = b < 0x80             ? 1
               : (b & 0xE0) == 0xC0 ? 2
               : (b & 0xF0) == 0xE0 ? 3
               : (b & 0xF8) == 0xF0 ? 4
                                    : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t j = 1; j < n; ++j)
      if ((static_cast<unsigned char>(s[i + j]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

class Generate : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { model_ = new std::shared_ptr<Model>(load("qwen2-32-tied-q8_0")); }
  static void TearDownTestSuite() { delete model_; }
  static std::shared_ptr<Model>* model_;  // shared by the suite: loading takes a while
  // "The invoice total is" with the qwen2 tokenizer.
  const std::vector<TokenId> prompt_{785, 24615, 2790, 374};
};
std::shared_ptr<Model>* Generate::model_ = nullptr;

TEST_F(Generate, ConcurrentRequestsMatchEachAlone) {
  std::vector<std::vector<TokenId>> prompts = {
      prompt_, {9707, 1879}, {64, 11, 293}, {16, 17, 18, 19, 20}};
  for (bool exact : {false, true}) {
    std::vector<std::vector<TokenId>> alone;
    for (const auto& p : prompts) {
      auto request = greedy_request(p, 16);
      request.exact = exact;
      auto r = (*model_)->generate(request);
      ASSERT_TRUE(r);
      alone.push_back(r->tokens);
    }
    std::vector<std::future<Result<GenerateResult>>> futures;
    std::vector<GenerateRequest> requests;
    for (const auto& p : prompts) {
      requests.push_back(greedy_request(p, 16));
      requests.back().exact = exact;
    }
    for (const auto& request : requests)
      futures.push_back(
          std::async(std::launch::async, [&] { return (*model_)->generate(request); }));
    for (size_t i = 0; i < futures.size(); ++i) {
      auto r = futures[i].get();
      ASSERT_TRUE(r);
      EXPECT_EQ(r->tokens, alone[i]) << "prompt " << i << (exact ? " exact" : " fast");
    }
  }
}

TEST_F(Generate, CancellingOneBatchedRequestLeavesTheOthersIntact) {
  const std::vector<TokenId> other{9707, 1879};
  auto alone = (*model_)->generate(greedy_request(other, 20));
  ASSERT_TRUE(alone);
  std::atomic<bool> cancel{false};
  auto cancelled_request = greedy_request(prompt_, 200);
  int pieces = 0;
  cancelled_request.on_text = [&](std::string_view) {
    if (++pieces == 2) cancel = true;
    return true;
  };
  cancelled_request.cancel = &cancel;
  auto survivor_request = greedy_request(other, 20);
  auto cancelled =
      std::async(std::launch::async, [&] { return (*model_)->generate(cancelled_request); });
  auto survivor =
      std::async(std::launch::async, [&] { return (*model_)->generate(survivor_request); });
  auto c = cancelled.get();
  auto s = survivor.get();
  ASSERT_TRUE(c);
  ASSERT_TRUE(s);
  EXPECT_EQ(c->stop_reason, StopReason::kCancelled);
  EXPECT_LT(c->tokens.size(), 200u);
  EXPECT_EQ(s->tokens, alone->tokens);
}

TEST_F(Generate, QueuesRequestsBeyondMaxSequences) {
  auto model = load("qwen2-32-tied-q8_0", {.threads = 1, .max_sequences = 1});
  auto expected = model->generate(greedy_request(prompt_, 8));
  ASSERT_TRUE(expected);
  std::vector<std::future<Result<GenerateResult>>> futures;
  const auto request = greedy_request(prompt_, 8);
  for (int i = 0; i < 3; ++i)
    futures.push_back(std::async(std::launch::async, [&] { return model->generate(request); }));
  for (auto& f : futures) {
    auto r = f.get();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->tokens, expected->tokens);
  }
}

TEST(ModelLoad, RejectsTruncatedAndMissingFiles) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("plinth-engine-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto source = kModels / "llama-spm-64-q8_0.gguf";
  const auto size = std::filesystem::file_size(source);
  for (uintmax_t cut : {uintmax_t{0}, uintmax_t{100}, size / 2, size - 1}) {
    const auto path = dir / "truncated.gguf";
    std::filesystem::copy_file(source, path, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::resize_file(path, cut);
    auto model = Model::load(path);
    ASSERT_FALSE(model) << "loaded a model truncated to " << cut << " bytes";
    EXPECT_EQ(model.error().code, ErrorCode::kCorruptData) << model.error().message;
  }
  std::filesystem::remove_all(dir);
  auto missing = Model::load(dir / "missing.gguf");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kIo);
}

TEST_F(Generate, StopsAtMaxTokensAndCountsPrompt) {
  auto r = (*model_)->generate(greedy_request(prompt_, 5));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->prompt_tokens, 4);
  if (r->stop_reason == StopReason::kMaxTokens) {
    EXPECT_EQ(r->tokens.size(), 5u);
    EXPECT_EQ(r->generated_tokens, 5);
  }
  const std::string decoded = (*model_)->tokenizer().decode(r->tokens);
  if (valid_utf8(decoded)) {
    EXPECT_EQ(r->text, decoded);
  }
}

TEST_F(Generate, RejectsPromptsBeyondTheContext) {
  auto model = load("qwen2-32-tied-q8_0", {.threads = 1, .context_length = 64});
  auto r = model->generate(greedy_request(prompt_, 61));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kContextLength);
  EXPECT_NE(r.error().message.find("64"), std::string::npos);
  EXPECT_TRUE(model->generate(greedy_request(prompt_, 60)));
}

TEST_F(Generate, RejectsInvalidRequests) {
  EXPECT_EQ((*model_)->generate(greedy_request({}, 4)).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ((*model_)->generate(greedy_request({-1}, 4)).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ((*model_)->generate(greedy_request({1 << 30}, 4)).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ((*model_)->embed({.text = "hi"}).error().code, ErrorCode::kInvalidArgument);
  auto bert = load("bert-bge-64-mean-f16");
  auto r = bert->generate(greedy_request({101, 102}, 4));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(Generate, SeededSamplingIsDeterministic) {
  auto sampled = [&](uint64_t seed) {
    auto request = greedy_request(prompt_, 24);
    request.sampling = {.temperature = 1.2f, .top_k = 50, .top_p = 0.95f, .seed = seed};
    auto r = (*model_)->generate(request);
    EXPECT_TRUE(r);
    return r ? r->tokens : std::vector<TokenId>{};
  };
  const auto first = sampled(1234);
  EXPECT_EQ(first.size(), 24u);
  EXPECT_EQ(sampled(1234), first);
  EXPECT_NE(sampled(99), first);
}

TEST_F(Generate, CancelFlagStopsGeneration) {
  std::atomic<bool> cancel{true};
  auto request = greedy_request(prompt_, 50);
  request.cancel = &cancel;
  auto r = (*model_)->generate(request);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->stop_reason, StopReason::kCancelled);
  EXPECT_TRUE(r->tokens.empty());
}

TEST_F(Generate, CallbackReturningFalseCancels) {
  int calls = 0;
  auto request = greedy_request(prompt_, 50);
  request.on_text = [&](std::string_view) { return ++calls < 3; };
  auto r = (*model_)->generate(request);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->stop_reason, StopReason::kCancelled);
  EXPECT_EQ(calls, 3);
  EXPECT_LT(r->tokens.size(), 50u);
}

TEST_F(Generate, StreamedPiecesAreCompleteUtf8AndAddUpToTheText) {
  std::string streamed;
  bool all_valid = true;
  auto request = greedy_request(prompt_, 40);
  request.on_text = [&](std::string_view piece) {
    all_valid = all_valid && valid_utf8(piece);
    streamed += piece;
    return true;
  };
  auto r = (*model_)->generate(request);
  ASSERT_TRUE(r);
  EXPECT_TRUE(all_valid);
  EXPECT_EQ(streamed, r->text);
}

TEST_F(Generate, StopSequenceEndsTextBeforeIt) {
  auto full = (*model_)->generate(greedy_request(prompt_, 30));
  ASSERT_TRUE(full);
  ASSERT_GE(full->text.size(), 12u);
  // A stop sequence taken from the middle of the greedy text (whole UTF-8 characters).
  size_t start = full->text.size() / 2;
  while (start > 0 && (static_cast<unsigned char>(full->text[start]) & 0xC0) == 0x80) --start;
  size_t end = start + 1;
  while (end < full->text.size() && (static_cast<unsigned char>(full->text[end]) & 0xC0) == 0x80)
    ++end;
  const std::string stop = full->text.substr(start, end - start);
  const size_t first = full->text.find(stop);

  std::string streamed;
  auto request = greedy_request(prompt_, 30);
  request.stop_sequences = {stop, "\x01never"};
  request.on_text = [&](std::string_view piece) {
    streamed += piece;
    return true;
  };
  auto r = (*model_)->generate(request);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->stop_reason, StopReason::kStopSequence);
  EXPECT_EQ(r->stop_sequence, stop);
  EXPECT_EQ(r->text, full->text.substr(0, first));
  EXPECT_EQ(streamed, r->text);
}

// Only allows tokens from a fixed set; complete after `length` tokens.
class AllowListConstraint : public TokenConstraint {
 public:
  AllowListConstraint(std::vector<TokenId> allowed, size_t length)
      : allowed_(std::move(allowed)), length_(length) {}
  bool allows(TokenId token) override {
    ++checks;
    return std::find(allowed_.begin(), allowed_.end(), token) != allowed_.end();
  }
  void fill_mask(std::span<uint8_t> allowed) override {
    ++masks;
    for (size_t i = 0; i < allowed.size(); ++i) allowed[i] = allows(static_cast<TokenId>(i));
  }
  void accept(TokenId token) override { accepted.push_back(token); }
  bool is_complete() const override { return accepted.size() >= length_; }

  std::vector<TokenId> accepted;
  int checks = 0, masks = 0;

 private:
  std::vector<TokenId> allowed_;
  size_t length_;
};

TEST_F(Generate, ConstraintIsObeyedAndEndsGeneration) {
  AllowListConstraint constraint({15, 16, 17, 18, 19}, 6);  // digits "0".."4" in qwen2
  for (float temperature : {0.0f, 1.5f}) {
    constraint = AllowListConstraint({15, 16, 17, 18, 19}, 6);
    auto request = greedy_request(prompt_, 20);
    request.sampling.temperature = temperature;
    request.sampling.seed = 7;
    request.constraint = &constraint;
    request.logprobs = 2;
    auto r = (*model_)->generate(request);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->tokens.size(), 6u);
    EXPECT_EQ(r->tokens, constraint.accepted);
    EXPECT_EQ(r->stop_reason, StopReason::kEndOfGeneration);
    for (TokenId t : r->tokens) EXPECT_GE(t, 15) << t;
    for (TokenId t : r->tokens) EXPECT_LE(t, 19) << t;
    EXPECT_GT(constraint.masks, 0);  // the unconstrained choice was rejected at least once
    // Log-probs stay those of the raw logits: top alternatives are not restricted to the set.
    ASSERT_EQ(r->steps.size(), 6u);
    EXPECT_LE(r->steps[0].logprob, r->steps[0].top[0].logprob);
  }
}

// Allows one set of tokens per position; singleton sets are reported as forced when fast_forward.
class ScriptedConstraint : public TokenConstraint {
 public:
  ScriptedConstraint(std::vector<std::vector<TokenId>> sets, bool fast_forward)
      : sets_(std::move(sets)), fast_forward_(fast_forward) {}
  bool allows(TokenId token) override {
    const auto& set = sets_[position_];
    return std::find(set.begin(), set.end(), token) != set.end();
  }
  void fill_mask(std::span<uint8_t> allowed) override {
    for (size_t i = 0; i < allowed.size(); ++i) allowed[i] = allows(static_cast<TokenId>(i));
  }
  void accept(TokenId token) override {
    EXPECT_TRUE(allows(token)) << token;
    ++position_;
  }
  bool is_complete() const override { return position_ >= sets_.size(); }
  std::vector<TokenId> forced_tokens() override {
    std::vector<TokenId> forced;
    if (!fast_forward_) return forced;
    for (size_t p = position_; p < sets_.size() && sets_[p].size() == 1; ++p)
      forced.push_back(sets_[p][0]);
    return forced;
  }

 private:
  std::vector<std::vector<TokenId>> sets_;
  bool fast_forward_;
  size_t position_ = 0;
};

TEST_F(Generate, ForcedTokensFastForwardToTheSameResult) {
  const std::vector<TokenId> digits{15, 16, 17, 18, 19};
  const std::vector<std::vector<TokenId>> script{digits, {17}, {18}, digits, {16}, digits};
  std::vector<TokenId> outputs[2];
  for (bool fast_forward : {false, true}) {
    ScriptedConstraint constraint(script, fast_forward);
    auto request = greedy_request(prompt_, 20);
    request.constraint = &constraint;
    auto r = (*model_)->generate(request);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->stop_reason, StopReason::kEndOfGeneration);
    EXPECT_EQ(r->generated_tokens, 6);
    outputs[fast_forward] = r->tokens;
  }
  ASSERT_EQ(outputs[0].size(), 6u);
  EXPECT_EQ(outputs[0][1], 17);
  EXPECT_EQ(outputs[0][2], 18);
  EXPECT_EQ(outputs[0], outputs[1]);
}

TEST(TextStream, HoldsBackPossibleStopPrefixesAndSplitCharacters) {
  std::vector<std::string> pieces;
  TextStream stream({"END"}, [&](std::string_view p) {
    pieces.emplace_back(p);
    return true;
  });
  EXPECT_EQ(stream.append("ab E"), TextStream::Outcome::kContinue);
  EXPECT_EQ(pieces, (std::vector<std::string>{"ab "}));
  EXPECT_EQ(stream.append("x \xC3"), TextStream::Outcome::kContinue);  // half of "é"
  EXPECT_EQ(pieces.back(), "Ex ");
  EXPECT_EQ(stream.append("\xA9 EN"), TextStream::Outcome::kContinue);
  EXPECT_EQ(pieces.back(), "\xC3\xA9 ");
  EXPECT_EQ(stream.append("D tail"), TextStream::Outcome::kStopSequence);
  EXPECT_EQ(stream.text(), "ab Ex \xC3\xA9 ");
  EXPECT_EQ(stream.matched_stop(), "END");
}

TEST(TextStream, ReplacesInvalidUtf8AndKeepsSplitCharacters) {
  std::string out;
  // Two cut-off Hangul syllables: each maximal invalid subpart becomes one U+FFFD.
  EXPECT_EQ(append_valid_utf8("a\xED\x96\xED\x96"
                              "b",
                              out),
            6u);
  EXPECT_EQ(out,
            "a\xEF\xBF\xBD\xEF\xBF\xBD"
            "b");
  out.clear();
  EXPECT_EQ(append_valid_utf8("\xED\xA0\x80", out), 3u);  // a surrogate: three bad bytes
  EXPECT_EQ(out, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  out.clear();
  EXPECT_EQ(append_valid_utf8("\xE3\x81\x9D\xE3\x81", out), 3u);  // second char unfinished
  EXPECT_EQ(out, "\xE3\x81\x9D");
  out.clear();
  EXPECT_EQ(append_valid_utf8("\xC0\xAF\xF0\x9F\x9A\x80", out), 6u);  // overlong, then rocket
  EXPECT_EQ(out, "\xEF\xBF\xBD\xEF\xBF\xBD\xF0\x9F\x9A\x80");
}

}  // namespace
}  // namespace plinth::engine
