// The one ErrorCode -> wire error mapping for Bedrock and OpenAI.
#include "plinth/api/errors.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace plinth::api {
namespace {

namespace json = boost::json;

TEST(ErrorMapping, EveryAwsTypeHasItsStatusAndName) {
  struct Row {
    AwsErrorType type;
    unsigned status;
    std::string_view name;
  };
  const Row rows[] = {
      {AwsErrorType::kValidation, 400, "ValidationException"},
      {AwsErrorType::kAccessDenied, 403, "AccessDeniedException"},
      {AwsErrorType::kUnrecognizedClient, 403, "UnrecognizedClientException"},
      {AwsErrorType::kInvalidSignature, 403, "InvalidSignatureException"},
      {AwsErrorType::kIncompleteSignature, 403, "IncompleteSignatureException"},
      {AwsErrorType::kExpiredToken, 403, "ExpiredTokenException"},
      {AwsErrorType::kMissingAuthenticationToken, 403, "MissingAuthenticationTokenException"},
      {AwsErrorType::kResourceNotFound, 404, "ResourceNotFoundException"},
      {AwsErrorType::kModelTimeout, 408, "ModelTimeoutException"},
      {AwsErrorType::kModelError, 424, "ModelErrorException"},
      {AwsErrorType::kThrottling, 429, "ThrottlingException"},
      {AwsErrorType::kServiceUnavailable, 503, "ServiceUnavailableException"},
      {AwsErrorType::kInternalServer, 500, "InternalServerException"},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(aws_error_status(row.type), row.status) << row.name;
    EXPECT_EQ(aws_error_name(row.type), row.name);
    EXPECT_EQ(aws_error_header(row.type),
              std::string(row.name) + ":http://internal.amazon.com/coral/com.amazon.bedrock/");
  }
}

TEST(ErrorMapping, CodesMapToTheDocumentedTypes) {
  EXPECT_EQ(aws_error_type(ErrorCode::kInvalidArgument), AwsErrorType::kValidation);
  EXPECT_EQ(aws_error_type(ErrorCode::kContextLength), AwsErrorType::kValidation);
  EXPECT_EQ(aws_error_type(ErrorCode::kNotFound), AwsErrorType::kResourceNotFound);
  EXPECT_EQ(aws_error_type(ErrorCode::kUnauthenticated), AwsErrorType::kMissingAuthenticationToken);
  EXPECT_EQ(aws_error_type(ErrorCode::kInvalidSignature), AwsErrorType::kInvalidSignature);
  EXPECT_EQ(aws_error_type(ErrorCode::kUnknownAccessKey), AwsErrorType::kUnrecognizedClient);
  EXPECT_EQ(aws_error_type(ErrorCode::kExpiredToken), AwsErrorType::kExpiredToken);
  EXPECT_EQ(aws_error_type(ErrorCode::kPermissionDenied), AwsErrorType::kAccessDenied);
  EXPECT_EQ(aws_error_type(ErrorCode::kThrottled), AwsErrorType::kThrottling);
  EXPECT_EQ(aws_error_type(ErrorCode::kTimeout), AwsErrorType::kModelTimeout);
  EXPECT_EQ(aws_error_type(ErrorCode::kModelError), AwsErrorType::kModelError);
  EXPECT_EQ(aws_error_type(ErrorCode::kUnavailable), AwsErrorType::kServiceUnavailable);
  EXPECT_EQ(aws_error_type(ErrorCode::kInternal), AwsErrorType::kInternalServer);
}

TEST(ErrorMapping, BedrockBodyCarriesTheMessage) {
  WireError wire = bedrock_error(Error(ErrorCode::kInvalidArgument, "bad \"input\""));
  EXPECT_EQ(wire.status, 400u);
  EXPECT_EQ(wire.content_type, "application/json");
  EXPECT_TRUE(wire.error_type_header.starts_with("ValidationException:"));
  EXPECT_EQ(json::parse(wire.body), json::parse(R"({"message":"bad \"input\""})"));
}

TEST(ErrorMapping, InternalErrorsHideTheirDetail) {
  WireError wire = bedrock_error(Error(ErrorCode::kInternal, "sqlite: disk I/O at /secret"));
  EXPECT_EQ(wire.status, 500u);
  EXPECT_EQ(wire.body.find("secret"), std::string::npos);
}

TEST(ErrorMapping, PayloadTooLargeIs413Validation) {
  WireError wire = bedrock_error(Error(ErrorCode::kPayloadTooLarge, "too big"));
  EXPECT_EQ(wire.status, 413u);
  EXPECT_TRUE(wire.error_type_header.starts_with("ValidationException"));
}

TEST(ErrorMapping, StreamExceptionNames) {
  EXPECT_EQ(stream_exception_name(ErrorCode::kInternal), "internalServerException");
  EXPECT_EQ(stream_exception_name(ErrorCode::kThrottled), "throttlingException");
  EXPECT_EQ(stream_exception_name(ErrorCode::kCorruptData), "modelStreamErrorException");
  EXPECT_EQ(stream_exception_name(ErrorCode::kInvalidArgument), "validationException");
  EXPECT_EQ(stream_exception_name(ErrorCode::kModelError), "modelStreamErrorException");
}

TEST(ErrorMapping, ModelErrorsKeepTheirReasonInEveryShape) {
  const Error error(ErrorCode::kModelError, "output does not match the requested JSON schema");
  WireError bedrock = bedrock_error(error);
  EXPECT_EQ(bedrock.status, 424u);
  EXPECT_TRUE(bedrock.error_type_header.starts_with("ModelErrorException:"));
  EXPECT_NE(bedrock.body.find("JSON schema"), std::string::npos);
  WireError openai = openai_error(error);
  EXPECT_EQ(openai.status, 500u);
  EXPECT_EQ(json::parse(openai.body).at("error").at("code"), "model_error");
  EXPECT_NE(openai.body.find("JSON schema"), std::string::npos);
  WireError anthropic = anthropic_error(error);
  EXPECT_EQ(anthropic.status, 500u);
  EXPECT_EQ(json::parse(anthropic.body).at("error").at("type"), "api_error");
  EXPECT_NE(anthropic.body.find("JSON schema"), std::string::npos);
}

TEST(ErrorMapping, OpenAiShape) {
  WireError wire = openai_error(Error(ErrorCode::kInvalidArgument, "no model"));
  EXPECT_EQ(wire.status, 400u);
  EXPECT_TRUE(wire.error_type_header.empty());
  EXPECT_EQ(json::parse(wire.body),
            json::parse(R"({"error":{"message":"no model","type":"invalid_request_error",
                              "code":"invalid_value"}})"));
  EXPECT_EQ(openai_error(Error(ErrorCode::kInvalidSignature, "x")).status, 401u);
  EXPECT_EQ(openai_error(Error(ErrorCode::kThrottled, "x")).status, 429u);
  EXPECT_EQ(openai_error(Error(ErrorCode::kNotFound, "x")).status, 404u);
  EXPECT_EQ(openai_error(Error(ErrorCode::kPermissionDenied, "x")).status, 403u);
}

}  // namespace
}  // namespace plinth::api
