// OoxmlPackage: libzip over an in-memory buffer, reading parts with size and ratio bounds; and
// libxml2 parsing of a part with DTDs refused.
#include "ooxml_package.h"

#include <libxml/parser.h>
#include <zip.h>

#include <cstring>
#include <mutex>

namespace plinth::documents {
namespace {

constexpr int64_t kRatioFloorBytes = 1 << 20;

std::unexpected<Error> invalid(std::string message) {
  return std::unexpected(Error(ErrorCode::kInvalidArgument, std::move(message)));
}

}  // namespace

void OoxmlPackage::ZipCloser::operator()(zip* archive) const { zip_discard(archive); }

OoxmlPackage::OoxmlPackage(std::unique_ptr<zip, ZipCloser> archive, std::string what,
                           OoxmlLimits limits)
    : archive_(std::move(archive)), what_(std::move(what)), limits_(limits) {}
OoxmlPackage::OoxmlPackage(OoxmlPackage&&) noexcept = default;
OoxmlPackage& OoxmlPackage::operator=(OoxmlPackage&&) noexcept = default;
OoxmlPackage::~OoxmlPackage() = default;

Result<OoxmlPackage> OoxmlPackage::open(std::string_view bytes, std::string what,
                                        const OoxmlLimits& limits) {
  if (bytes.starts_with("\xD0\xCF\x11\xE0")) {
    // Office writes encrypted docx/xlsx files, and the legacy doc/xls formats, as OLE2 files.
    return invalid(what + " is encrypted with a password or is a legacy binary Office file " +
                   "(OLE2), not Office Open XML; save it unencrypted as docx or xlsx");
  }
  if (!bytes.starts_with("PK\x03\x04")) {
    return invalid(what + " is not an Office Open XML file (no zip signature)");
  }
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  if (source == nullptr) {
    zip_error_fini(&error);
    return invalid(what + " could not be read");
  }
  zip_t* archive = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
  zip_error_fini(&error);
  if (archive == nullptr) {
    zip_source_free(source);
    return invalid(what + " is corrupt or truncated (not a readable zip archive)");
  }
  std::unique_ptr<zip, ZipCloser> owned(archive);
  zip_int64_t entries = zip_get_num_entries(archive, 0);
  if (entries < 0 || entries > limits.max_entries) {
    return invalid(what + " has " + std::to_string(entries) +
                   " files in its archive; the limit is " + std::to_string(limits.max_entries));
  }
  return OoxmlPackage(std::move(owned), std::move(what), limits);
}

bool OoxmlPackage::has_part(const std::string& name) const {
  return zip_name_locate(archive_.get(), name.c_str(), 0) >= 0;
}

Result<std::string> OoxmlPackage::read_part(const std::string& name) {
  zip_int64_t index = zip_name_locate(archive_.get(), name.c_str(), 0);
  if (index < 0) return invalid(what_ + " has no part " + name);
  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_stat_index(archive_.get(), index, 0, &stat) != 0) {
    return invalid(what_ + " is corrupt (" + name + ")");
  }
  if ((stat.valid & ZIP_STAT_ENCRYPTION_METHOD) && stat.encryption_method != ZIP_EM_NONE) {
    return invalid(what_ + " is encrypted; submit an unencrypted copy");
  }
  const auto size = static_cast<int64_t>(stat.size);
  const auto compressed = static_cast<int64_t>(stat.comp_size);
  if (size > limits_.max_part_bytes || total_read_ + size > limits_.max_total_bytes ||
      (size > kRatioFloorBytes && size > compressed * limits_.max_compression_ratio)) {
    return invalid(what_ + " expands too much when decompressed (" + name + ": " +
                   std::to_string(size) + " bytes from " + std::to_string(compressed) +
                   "); it looks like a zip bomb");
  }
  zip_file_t* file = zip_fopen_index(archive_.get(), index, 0);
  if (file == nullptr) return invalid(what_ + " is corrupt (" + name + " cannot be opened)");
  // The header's size is the caller's claim: read at most that much plus one byte.
  std::string out(static_cast<size_t>(size) + 1, '\0');
  zip_int64_t got = 0;
  while (got < size + 1) {
    zip_int64_t n = zip_fread(file, out.data() + got, static_cast<zip_uint64_t>(size + 1 - got));
    if (n < 0) {
      zip_fclose(file);
      return invalid(what_ + " is corrupt or truncated (" + name + ")");
    }
    if (n == 0) break;
    got += n;
  }
  zip_fclose(file);
  if (got != size) return invalid(what_ + " is corrupt (" + name + " has the wrong size)");
  out.resize(static_cast<size_t>(size));
  total_read_ += size;
  return out;
}

Result<XmlDocument> parse_part_xml(std::string_view xml, const std::string& what) {
  // libxml2 sets up its globals on first use; parsing may start on several threads at once.
  static std::once_flag init;
  std::call_once(init, [] { xmlInitParser(); });
  if (xml.find("<!DOCTYPE") != std::string_view::npos ||
      xml.find("<!ENTITY") != std::string_view::npos) {
    return invalid(what + " declares a DTD, which Office Open XML never does");
  }
  if (xml.size() > static_cast<size_t>(INT32_MAX)) return invalid(what + " is too large");
  XmlDocument doc(xmlReadMemory(xml.data(), static_cast<int>(xml.size()), nullptr, nullptr,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (!doc || xmlDocGetRootElement(doc.get()) == nullptr) {
    return invalid(what + " is corrupt (malformed XML)");
  }
  if (doc->intSubset != nullptr || doc->extSubset != nullptr) {
    return invalid(what + " declares a DTD, which Office Open XML never does");
  }
  return doc;
}

std::string_view local_name(const xmlNode* node) {
  if (node == nullptr || node->type != XML_ELEMENT_NODE || node->name == nullptr) return "";
  return reinterpret_cast<const char*>(node->name);
}

std::string attribute(const xmlNode* node, std::string_view name) {
  for (const xmlAttr* a = node->properties; a != nullptr; a = a->next) {
    if (a->name != nullptr && reinterpret_cast<const char*>(a->name) == name) {
      const xmlNode* text = a->children;
      if (text != nullptr && text->content != nullptr) {
        return reinterpret_cast<const char*>(text->content);
      }
      return "";
    }
  }
  return "";
}

}  // namespace plinth::documents
