// Catalog construction, id/alias/ARN resolution and exact cost arithmetic.
#include "plinth/catalog/catalog.h"

#include <gtest/gtest.h>

namespace plinth::catalog {
namespace {

Catalog test_catalog() {
  Config config;
  ModelConfig haiku;
  haiku.id = "anthropic.claude-3-haiku-20240307-v1:0";
  haiku.aliases = {"small", "local-qwen"};
  haiku.price_input_per_mtok = 0.25;
  haiku.price_output_per_mtok = 1.25;
  haiku.context_length = 4096;
  ModelConfig embed;
  embed.id = "amazon.titan-embed-text-v2:0";
  embed.kind = "embedding";
  ModelConfig large;
  large.id = "meta.llama3-8b-instruct-v1:0";
  large.tier = "large";
  config.models = {haiku, embed, large};
  auto catalog = Catalog::from_config(config);
  EXPECT_TRUE(catalog.has_value());
  return std::move(*catalog);
}

TEST(Catalog, BuildsEntriesFromConfig) {
  Catalog catalog = test_catalog();
  ASSERT_EQ(catalog.entries().size(), 3u);
  EXPECT_EQ(catalog.entries()[0].context_length, 4096);
  EXPECT_EQ(catalog.entries()[1].kind, ModelKind::kEmbedding);
  EXPECT_EQ(catalog.entries()[2].tier, ModelTier::kLarge);
  EXPECT_EQ(to_string(catalog.entries()[2].tier), "large");
}

// The view points into the entry (or a literal), never at a temporary: it outlives the call.
TEST(Catalog, ProviderNameViewsTheEntryItself) {
  ModelEntry local;
  ModelEntry upstream;
  upstream.provider = "anthropic-prod";
  const std::string_view local_name = local.provider_name();
  const std::string_view upstream_name = upstream.provider_name();
  EXPECT_EQ(local_name, "local");
  EXPECT_EQ(upstream_name, "anthropic-prod");
  EXPECT_EQ(upstream_name.data(), upstream.provider.data());
}

TEST(Catalog, RejectsDuplicateAliasAndUnknownKind) {
  Config config;
  ModelConfig a;
  a.id = "a";
  a.aliases = {"x"};
  ModelConfig b;
  b.id = "b";
  b.aliases = {"x"};
  config.models = {a, b};
  auto dup = Catalog::from_config(config);
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(dup.error().message.find("x"), std::string::npos);

  config.models = {a};
  config.models[0].kind = "image";
  EXPECT_FALSE(Catalog::from_config(config).has_value());
}

TEST(Catalog, ResolvesIdAndAlias) {
  Catalog catalog = test_catalog();
  auto by_id = catalog.resolve("anthropic.claude-3-haiku-20240307-v1:0");
  ASSERT_TRUE(by_id.has_value());
  EXPECT_EQ((*by_id)->id, "anthropic.claude-3-haiku-20240307-v1:0");
  auto by_alias = catalog.resolve("local-qwen");
  ASSERT_TRUE(by_alias.has_value());
  EXPECT_EQ(*by_alias, *by_id);
}

TEST(Catalog, ResolvesFoundationModelArn) {
  Catalog catalog = test_catalog();
  auto entry =
      catalog.resolve("arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0");
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ((*entry)->id, "amazon.titan-embed-text-v2:0");
}

TEST(Catalog, ResolvesInferenceProfileIdAndArnToTheFoundationModel) {
  Catalog catalog = test_catalog();
  auto plain = catalog.resolve("us.anthropic.claude-3-haiku-20240307-v1:0");
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ((*plain)->id, "anthropic.claude-3-haiku-20240307-v1:0");
  auto arn = catalog.resolve(
      "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.meta.llama3-8b-instruct-v1:0");
  ASSERT_TRUE(arn.has_value());
  EXPECT_EQ((*arn)->id, "meta.llama3-8b-instruct-v1:0");
}

TEST(Catalog, ApplicationInferenceProfileResolvesOnlyWhenKnown) {
  Catalog catalog = test_catalog();
  auto unknown = catalog.resolve(
      "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  auto known =
      catalog.resolve("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/small");
  ASSERT_TRUE(known.has_value());
  EXPECT_EQ((*known)->id, "anthropic.claude-3-haiku-20240307-v1:0");
}

TEST(Catalog, UnknownIdIsNotFound) {
  Catalog catalog = test_catalog();
  auto missing = catalog.resolve("anthropic.claude-3-opus");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  // A geography prefix alone does not make an unknown id known.
  EXPECT_FALSE(catalog.resolve("us.nothing").has_value());
}

TEST(Catalog, MalformedArnsAreInvalidArguments) {
  Catalog catalog = test_catalog();
  for (std::string_view bad : {"arn:aws:bedrock", "arn:aws:s3:us-east-1::foundation-model/x",
                               "arn:aws:bedrock:us-east-1::foundation-model/",
                               "arn:aws:bedrock:us-east-1::custom-model/x", ""}) {
    auto result = catalog.resolve(bad);
    ASSERT_FALSE(result.has_value()) << bad;
    EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(ModelReference, SplitsArnParts) {
  auto ref = parse_model_reference(
      "arn:aws:bedrock:us-west-2:111122223333:inference-profile/us.anthropic.claude-3-haiku-v1:0");
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(ref->form, ModelReference::Form::kInferenceProfileArn);
  EXPECT_EQ(ref->region, "us-west-2");
  EXPECT_EQ(ref->account, "111122223333");
  EXPECT_EQ(ref->id, "us.anthropic.claude-3-haiku-v1:0");
  EXPECT_EQ(foundation_model_arn("us-east-1", "m:0"),
            "arn:aws:bedrock:us-east-1::foundation-model/m:0");
}

TEST(ModelReference, RecognisesPromptRouterArnsWhichNameNoCatalogModel) {
  for (std::string_view arn :
       {"arn:aws:bedrock:us-east-1:000000000000:prompt-router/router.x",
        "arn:aws:bedrock:us-east-1:000000000000:default-prompt-router/router.x"}) {
    auto ref = parse_model_reference(arn);
    ASSERT_TRUE(ref.has_value()) << arn;
    EXPECT_EQ(ref->form, ModelReference::Form::kPromptRouterArn);
    EXPECT_EQ(ref->id, "router.x");
  }
  Catalog catalog = test_catalog();
  auto model = catalog.resolve("arn:aws:bedrock:us-east-1:000000000000:prompt-router/" +
                               catalog.entries().front().id);
  ASSERT_FALSE(model.has_value());
  EXPECT_EQ(model.error().code, ErrorCode::kNotFound);
}

TEST(Cost, IsExactInPicoDollarsAndRoundsToMicroDollars) {
  Catalog catalog = test_catalog();
  const ModelEntry& haiku = catalog.entries()[0];
  // 1000 input at $0.25/M = $0.00025 = 250 micro; 333 output at $1.25/M = 416.25 micro.
  Cost cost = compute_cost(haiku, 1000, 333);
  EXPECT_EQ(cost.pico_usd, 250'000'000 + 416'250'000);
  EXPECT_EQ(cost.micro_usd(), 666);
  Cost half = compute_cost(haiku, 2, 0);  // 0.5 micro-dollars rounds up
  EXPECT_EQ(half.micro_usd(), 1);
  // 0.1 is not exact in binary; the integer price still is.
  EXPECT_EQ(price_micro_usd_per_mtok(0.1), 100'000);
  EXPECT_EQ(compute_cost(catalog.entries()[1], 1'000'000, 1'000'000).pico_usd, 0);
}

TEST(Cost, PromptCacheTokensAtTheirOwnPrices) {
  ModelEntry model;
  model.price_input_per_mtok = 3.0;
  model.price_output_per_mtok = 15.0;
  // Unset cache prices are the input price: the split changes nothing.
  EXPECT_EQ(compute_cost(model, TokenCounts{1000, 10, 600, 300}).pico_usd,
            compute_cost(model, 1000, 10).pico_usd);
  model.price_cache_read_per_mtok = 0.3;
  model.price_cache_write_per_mtok = 3.75;
  // 100 plain at 3 + 600 read at 0.3 + 300 written at 3.75 (micro-dollars per million = pico per
  // token) + 10 output at 15.
  EXPECT_EQ(compute_cost(model, TokenCounts{1000, 10, 600, 300}).pico_usd,
            100 * 3'000'000 + 600 * 300'000 + 300 * 3'750'000 + 10 * 15'000'000);
  // Cache counts are subsets of the input: more than the input is clamped, never billed twice.
  EXPECT_EQ(compute_cost(model, TokenCounts{100, 0, 80, 80}).pico_usd,
            80 * 300'000 + 20 * 3'750'000);
  EXPECT_EQ(compute_cost(model, TokenCounts{100, 0, -5, 0}).pico_usd, 100 * 3'000'000);
}

}  // namespace
}  // namespace plinth::catalog
