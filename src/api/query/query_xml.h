// A tiny XML writer for Query-protocol responses (private to src/api/query).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace plinth::api::query {

std::string xml_escape(std::string_view text);
// 2026-11-25T10:11:24Z, as the SDKs parse timestamps.
std::string iso8601(std::chrono::system_clock::time_point t);
std::string iso8601_seconds(int64_t unix_seconds);

class XmlWriter {
 public:
  XmlWriter() {
    out_ = R"(<?xml version="1.0" encoding="UTF-8"?>)"
           "\n";
  }
  XmlWriter& open(std::string_view name, std::string_view xmlns = {}) {
    out_ += "<" + std::string(name);
    if (!xmlns.empty()) out_ += " xmlns=\"" + std::string(xmlns) + "\"";
    out_ += ">";
    return *this;
  }
  XmlWriter& close(std::string_view name) {
    out_ += "</" + std::string(name) + ">";
    return *this;
  }
  XmlWriter& element(std::string_view name, std::string_view text) {
    out_ += "<" + std::string(name) + ">" + xml_escape(text) + "</" + std::string(name) + ">";
    return *this;
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace plinth::api::query
