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

void expect_same_spec(const PipelineSpec& a, const PipelineSpec& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.extract_schema_json, b.extract_schema_json);
  EXPECT_EQ(a.extract_model, b.extract_model);
  EXPECT_EQ(a.extract_instructions, b.extract_instructions);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.classify_instructions, b.classify_instructions);
  EXPECT_EQ(a.classify_model, b.classify_model);
  EXPECT_EQ(a.analyze_instructions, b.analyze_instructions);
  EXPECT_EQ(a.analyze_model, b.analyze_model);
  EXPECT_EQ(a.knowledge_base_id, b.knowledge_base_id);
}

TEST(PipelineSpec, EveryAcceptedBodyRoundTripsThroughItsStoredForm) {
  // A pipeline without classify was accepted and then unreadable by every job ("labels":[]).
  const char* bodies[] = {
      R"({"name":"minimal"})",
      R"({"name":"no-classify","extract":{"schema":{"type":"object"}},"analyze":{}})",
      R"({"name":"only-classify","classify":{"labels":["a"]}})",
      R"({"name":"classify-no-labels","classify":{"instructions":"pick","model":"small"}})",
      R"({"name":"empty-steps","extract":{},"classify":{},"analyze":{}})",
      R"({"name":"full","knowledgeBaseId":"kb.x",
          "extract":{"schema":{"type":"object"},"model":"alias-small","instructions":"i1"},
          "classify":{"labels":["a","b"],"instructions":"i2","model":"small-1"},
          "analyze":{"instructions":"i3","model":"large"}})",
      R"({"name":"nulls","extract":{"schema":null,"model":null},"classify":null,"analyze":null})",
  };
  for (const char* body : bodies) {
    SCOPED_TRACE(body);
    auto spec = parse_pipeline_spec(body, test_catalog());
    ASSERT_TRUE(spec) << spec.error().message;
    spec->created_ms = 1;
    spec->updated_ms = 2;
    std::string stored = pipeline_spec_json(*spec);
    auto loaded = load_pipeline_spec(stored);
    ASSERT_TRUE(loaded) << loaded.error().message << " in " << stored;
    expect_same_spec(*spec, *loaded);
    EXPECT_EQ(loaded->created_ms, 1);
    EXPECT_EQ(loaded->updated_ms, 2);
    EXPECT_EQ(pipeline_spec_json(*loaded), stored);
    // The stored form is also a valid create body that means the same pipeline.
    auto recreated = parse_pipeline_spec(stored, test_catalog());
    ASSERT_TRUE(recreated) << recreated.error().message;
    expect_same_spec(*spec, *recreated);
  }
}

TEST(PipelineSpec, PipelinesStoredWithAnEmptyLabelListStillLoad) {
  auto loaded = load_pipeline_spec(
      R"({"name":"old","extract":{},"classify":{"labels":[]},"analyze":{},"knowledgeBaseId":"kb-old"})");
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_TRUE(loaded->labels.empty());
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
