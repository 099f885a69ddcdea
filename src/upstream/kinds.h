// The provider kinds' constructors, one per [[providers]] kind (make_provider's switch).
#pragma once

#include <memory>

#include "plinth/upstream/upstream.h"

namespace plinth::upstream {

// kind = "openai": OpenAI chat completions and embeddings under base_url (openai_provider.cpp).
Result<std::unique_ptr<providers::Provider>> make_openai_provider(const ProviderConfig& config,
                                                                  const ProviderDeps& deps);

// kind = "bedrock": Bedrock Runtime Converse / ConverseStream, Titan embeddings, and Bedrock
// inbound calls forwarded as they came (BedrockPassthrough); SigV4 with the AWS credential chain
// (bedrock_provider.cpp).
Result<std::unique_ptr<providers::Provider>> make_bedrock_provider(const ProviderConfig& config,
                                                                   const ProviderDeps& deps);

// kind = "anthropic": Anthropic's Messages API under base_url (anthropic_provider.cpp).
Result<std::unique_ptr<providers::Provider>> make_anthropic_provider(const ProviderConfig& config,
                                                                     const ProviderDeps& deps);

}  // namespace plinth::upstream
