// Pipeline definitions: validation at create time and model choice per step.
#include "plinth/documents/pipeline.h"

#include <gtest/gtest.h>

namespace plinth::documents {
namespace {

catalog::Catalog test_catalog() {
  return *catalog::Catalog::from_entries(
      {{"small-1", {"alias-small"}, catalog::ModelKind::kText, catalog::ModelTier::kSmall, 1, 2},
       {"large-1", {}, catalog::ModelKind::kText, catalog::ModelTier::kLarge, 3, 15},
       {"embed-1", {}, catalog::ModelKind::kEmbedding, catalog::ModelTier::kSmall, 0.02, 0}});
}

TEST(PipelineSpec, ParsesTheFullShapeAndDefaultsTheKnowledgeBase) {
  auto spec = parse_pipeline_spec(
      R"({"name":"invoices","extract":{"schema":{"type":"object","properties":{"total":{"type":"number"}}}},
          "classify":{"labels":["invoice","receipt"],"instructions":"pick"},
          "analyze":{"instructions":"summarize","model":"large"}})",
      test_catalog());
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->name, "invoices");
  EXPECT_EQ(spec->labels, (std::vector<std::string>{"invoice", "receipt"}));
  EXPECT_EQ(spec->knowledge_base_id, "kb-invoices");
  auto reloaded = load_pipeline_spec(pipeline_spec_json(*spec));
  ASSERT_TRUE(reloaded);
  EXPECT_EQ(reloaded->extract_schema_json, spec->extract_schema_json);
  EXPECT_EQ(reloaded->analyze_model, "large");
}

TEST(PipelineSpec, SchemaThatDoesNotCompileNamesTheProblem) {
  auto spec = parse_pipeline_spec(
      R"({"name":"x","extract":{"schema":{"type":"object","properties":{"a":{"type":"strin"}}}}})",
      test_catalog());
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(spec.error().message.find("does not compile"), std::string::npos);
  EXPECT_NE(spec.error().message.find("strin"), std::string::npos) << spec.error().message;
}

TEST(PipelineSpec, RejectsBadNamesLabelsAndModels) {
  auto catalog = test_catalog();
  EXPECT_FALSE(parse_pipeline_spec(R"({"name":"a b"})", catalog));
  EXPECT_FALSE(parse_pipeline_spec(R"({"name":"a","classify":{"labels":["x","x"]}})", catalog));
  EXPECT_FALSE(parse_pipeline_spec(R"({"name":"a","classify":{"labels":[]}})", catalog));
  EXPECT_FALSE(parse_pipeline_spec(R"({"name":"a","extract":{"model":"nope"}})", catalog));
  EXPECT_FALSE(parse_pipeline_spec(R"({"name":"a","analyze":{"model":"embed-1"}})", catalog));
  EXPECT_FALSE(parse_pipeline_spec("[1]", catalog));
}

TEST(PipelineSpec, ResolvesTiersAliasesAndDefaults) {
  auto catalog = test_catalog();
  EXPECT_EQ((*resolve_text_model(catalog, "", catalog::ModelTier::kSmall))->id, "small-1");
  EXPECT_EQ((*resolve_text_model(catalog, "", catalog::ModelTier::kLarge))->id, "large-1");
  EXPECT_EQ((*resolve_text_model(catalog, "large", catalog::ModelTier::kSmall))->id, "large-1");
  EXPECT_EQ((*resolve_text_model(catalog, "alias-small", catalog::ModelTier::kLarge))->id,
            "small-1");
  EXPECT_EQ((*embedding_model(catalog))->id, "embed-1");
}

}  // namespace
}  // namespace plinth::documents
