// Reading parts of an Office Open XML package (a zip file) from memory, with bounds against zip
// bombs, and parsing a part's XML without a DTD, external entities or network access.
#pragma once

#include <libxml/tree.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "plinth/core/result.h"

struct zip;

namespace plinth::documents {

struct OoxmlLimits {
  int64_t max_entries = 10000;          // files in the package
  int64_t max_part_bytes = 32 << 20;    // one part, uncompressed
  int64_t max_total_bytes = 96 << 20;   // all parts read, uncompressed
  int64_t max_compression_ratio = 200;  // for parts larger than 1 MB uncompressed
};

// `what` names the document in messages ("the docx document").
class OoxmlPackage {
 public:
  static Result<OoxmlPackage> open(std::string_view bytes, std::string what,
                                   const OoxmlLimits& limits = {});
  OoxmlPackage(OoxmlPackage&&) noexcept;
  OoxmlPackage& operator=(OoxmlPackage&&) noexcept;
  ~OoxmlPackage();

  bool has_part(const std::string& name) const;
  // The part's bytes; kInvalidArgument when absent, encrypted, damaged or over a bound.
  Result<std::string> read_part(const std::string& name);

 private:
  struct ZipCloser {
    void operator()(zip* archive) const;
  };
  OoxmlPackage(std::unique_ptr<zip, ZipCloser> archive, std::string what, OoxmlLimits limits);
  std::unique_ptr<zip, ZipCloser> archive_;
  std::string what_;
  OoxmlLimits limits_;
  int64_t total_read_ = 0;
};

struct XmlDocFree {
  void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
using XmlDocument = std::unique_ptr<xmlDoc, XmlDocFree>;

// Parses a part as XML: no DTD (a part that declares one is refused, so no entity can expand),
// no network, libxml2's default nesting limit (256 levels).
Result<XmlDocument> parse_part_xml(std::string_view xml, const std::string& what);

// The local name of an element ("t" for <w:t>), or "" for other nodes.
std::string_view local_name(const xmlNode* node);
// The value of an attribute by local name ("" when absent).
std::string attribute(const xmlNode* node, std::string_view name);

}  // namespace plinth::documents
