// Chat templates: each family rendered as its reference Jinja template renders it (system
// prompt, multi-turn history, generation prompt), and the ChatML fallback.
#include "chat/chat_template.h"

#include <gtest/gtest.h>

#include <vector>

namespace plinth::engine {
namespace {

// Only bos/eos and their texts matter to the renderer.
class SpecialTokensOnly final : public Tokenizer {
 public:
  int32_t vocab_size() const override { return 3; }
  Result<std::vector<TokenId>> encode(std::string_view, bool, bool) const override {
    return std::vector<TokenId>{};
  }
  std::string token_bytes(TokenId id, bool render_special) const override {
    if (!render_special) return "";
    return id == 1 ? "<s>" : id == 2 ? "</s>" : "";
  }
  std::string decode(std::span<const TokenId>, bool) const override { return ""; }
  bool is_control(TokenId id) const override { return id == 1 || id == 2; }
  bool is_end_of_generation(TokenId id) const override { return id == 2; }
  std::optional<TokenId> bos() const override { return 1; }
  std::optional<TokenId> eos() const override { return 2; }
};

const std::vector<ChatMessage> kConversation = {
    {"system", "Be brief."},
    {"user", "Hi there "},
    {"assistant", " Hello! "},
    {"user", "What is 2+2?"},
};

// Templates as published with the models (whitespace-insignificant parts shortened).
const std::string kQwen2Template =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ "
    "'<|im_start|>system\nYou are a helpful assistant<|im_end|>\n' }}{% endif %}{{'<|im_start|>' "
    "+ message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if "
    "add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
const std::string kLlama3Template =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim "
    "+ '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif "
    "%}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";
const std::string kLlama31Template =
    "{{- bos_token }}{%- if not date_string is defined %}{%- set date_string = \"26 Jul 2024\" "
    "%}{%- endif %}{%- if messages[0]['role'] == 'system' %}{%- set system_message = "
    "messages[0]['content']|trim %}{%- set messages = messages[1:] %}{%- else %}{%- set "
    "system_message = \"\" %}{%- endif %}{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" "
    "}}{{- \"Cutting Knowledge Date: December 2023\\n\" }}{{- \"Today Date: \" + date_string + "
    "\"\\n\\n\" }}{{- system_message }}{{- \"<|eot_id|>\" }}{%- for message in messages %}{{- "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | "
    "trim + '<|eot_id|>' }}{%- endfor %}{%- if add_generation_prompt %}{{- "
    "'<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}";
const std::string kLlama2Template =
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set "
    "system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set "
    "system_message = false %}{% endif %}{% for message in loop_messages %}{% if loop.index0 == 0 "
    "and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + "
    "'\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% "
    "endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' "
    "[/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + "
    "eos_token }}{% endif %}{% endfor %}";
const std::string kMistralV1Template =
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + "
    "message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ "
    "message['content'] + eos_token + ' ' }}{% endif %}{% endfor %}";
const std::string kGemmaTemplate =
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'assistant') %}{% set "
    "role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + "
    "role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if "
    "add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}";

std::string render(const std::string& tmpl, std::span<const ChatMessage> messages,
                   bool add_generation_prompt = true, std::string* warning = nullptr) {
  SpecialTokensOnly tokenizer;
  return render_chat(tmpl, messages, add_generation_prompt, tokenizer, warning);
}

TEST(ChatTemplate, DetectsEachFamily) {
  EXPECT_EQ(detect_chat_template(kQwen2Template), ChatTemplateFamily::kChatMl);
  EXPECT_EQ(detect_chat_template(kLlama3Template), ChatTemplateFamily::kLlama3);
  EXPECT_EQ(detect_chat_template(kLlama31Template), ChatTemplateFamily::kLlama3);
  EXPECT_EQ(detect_chat_template(kLlama2Template), ChatTemplateFamily::kLlama2);
  EXPECT_EQ(detect_chat_template(kMistralV1Template), ChatTemplateFamily::kMistral);
  EXPECT_EQ(detect_chat_template(kGemmaTemplate), ChatTemplateFamily::kGemma);
  EXPECT_EQ(detect_chat_template("{{ messages }}"), ChatTemplateFamily::kUnknown);
}

TEST(ChatTemplate, ChatMlKeepsContentVerbatimAndUsesTheDefaultSystemPromptOnlyWithoutOne) {
  std::string warning = "stale";
  EXPECT_EQ(render(kQwen2Template, kConversation, true, &warning),
            "<|im_start|>system\nBe brief.<|im_end|>\n"
            "<|im_start|>user\nHi there <|im_end|>\n"
            "<|im_start|>assistant\n Hello! <|im_end|>\n"
            "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_TRUE(warning.empty());
  const std::vector<ChatMessage> no_system = {{"user", "Hi"}};
  EXPECT_EQ(render(kQwen2Template, no_system, false),
            "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n");
}

TEST(ChatTemplate, ChatMlWithThinkingDropsReasoningUpToTheLastQuery) {
  const std::string qwen3_like = "{{- '<|im_start|>' + message.role }} ... '\\n</think>\\n\\n'";
  const std::vector<ChatMessage> messages = {
      {"user", "Q"}, {"assistant", "<think>\nhmm\n</think>\n\nA"}, {"user", "Q2"}};
  EXPECT_EQ(render(qwen3_like, messages),
            "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n"
            "<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\n");
  // A final (prefilled) assistant turn after the last query keeps an explicit think block.
  const std::vector<ChatMessage> prefill = {{"user", "Q"}, {"assistant", "\nSure"}};
  EXPECT_EQ(render(qwen3_like, prefill, false),
            "<|im_start|>user\nQ<|im_end|>\n"
            "<|im_start|>assistant\n<think>\n\n</think>\n\nSure<|im_end|>\n");
}

TEST(ChatTemplate, Llama3TrimsContentAndOmitsTheLeadingBos) {
  EXPECT_EQ(render(kLlama3Template, kConversation),
            "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplate, Llama31AlwaysWritesTheDatedSystemTurn) {
  const std::vector<ChatMessage> no_system = {{"user", "Hi"}};
  EXPECT_EQ(render(kLlama31Template, no_system, false),
            "<|start_header_id|>system<|end_header_id|>\n\n"
            "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
  EXPECT_EQ(render(kLlama31Template, kConversation),
            "<|start_header_id|>system<|end_header_id|>\n\n"
            "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplate, Llama2WrapsTheSystemPromptInTheFirstUserTurn) {
  EXPECT_EQ(render(kLlama2Template, kConversation),
            "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi there [/INST] Hello! </s>"
            "<s>[INST] What is 2+2? [/INST]");
  const std::vector<ChatMessage> no_system = {{"user", " Hi "}};
  EXPECT_EQ(render(kLlama2Template, no_system), "[INST] Hi [/INST]");
}

TEST(ChatTemplate, MistralJoinsSystemToTheUserTurn) {
  EXPECT_EQ(render(kMistralV1Template, kConversation),
            "[INST] Be brief.\nHi there  [/INST] Hello! </s> [INST] What is 2+2? [/INST]");
  const std::string v2 = kMistralV1Template.substr(0, kMistralV1Template.find("eos_token + ' '")) +
                         "eos_token }}{% endif %}{% endfor %}";
  const std::vector<ChatMessage> turns = {{"user", "A"}, {"assistant", "B"}, {"user", "C"}};
  EXPECT_EQ(render(v2, turns), "[INST] A [/INST]B</s>[INST] C [/INST]");
}

TEST(ChatTemplate, GemmaSpellsAssistantAsModelAndPrefixesTheSystemPrompt) {
  EXPECT_EQ(render(kGemmaTemplate, kConversation),
            "<start_of_turn>user\nBe brief.\n\nHi there<end_of_turn>\n"
            "<start_of_turn>model\nHello!<end_of_turn>\n"
            "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n"
            "<start_of_turn>model\n");
}

TEST(ChatTemplate, UnknownOrEmptyTemplatesFallBackToChatMlWithAWarning) {
  const std::vector<ChatMessage> messages = {{"user", "Hi"}};
  for (const std::string& tmpl : {std::string(), std::string("{{ messages | tojson }}")}) {
    std::string warning;
    EXPECT_EQ(render(tmpl, messages, true, &warning),
              "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    EXPECT_FALSE(warning.empty());
  }
}

}  // namespace
}  // namespace plinth::engine
