// std::expected / std::unexpected for toolchains without them (clang 14 on libstdc++ 12): a small
// complete equivalent, used by result.h only when the standard library does not define them.
#pragma once

#include <exception>
#include <functional>
#include <initializer_list>
#include <type_traits>
#include <utility>
#include <variant>

namespace plinth::compat {

template <typename E>
class unexpected {
 public:
  template <typename Err = E>
  requires(!std::is_same_v<std::remove_cvref_t<Err>, unexpected> &&
           !std::is_same_v<std::remove_cvref_t<Err>, std::in_place_t> &&
           std::is_constructible_v<E, Err>) constexpr explicit unexpected(Err&& e)
      : error_(std::forward<Err>(e)) {}
  template <typename... Args>
  constexpr explicit unexpected(std::in_place_t, Args&&... args)
      : error_(std::forward<Args>(args)...) {}

  constexpr const E& error() const& noexcept { return error_; }
  constexpr E& error() & noexcept { return error_; }
  constexpr const E&& error() const&& noexcept { return std::move(error_); }
  constexpr E&& error() && noexcept { return std::move(error_); }

  template <typename G>
  friend constexpr bool operator==(const unexpected& a, const unexpected<G>& b) {
    return a.error() == b.error();
  }

 private:
  E error_;
};

template <typename E>
unexpected(E) -> unexpected<E>;

struct unexpect_t {
  explicit unexpect_t() = default;
};
inline constexpr unexpect_t unexpect{};

template <typename E>
class bad_expected_access : public std::exception {
 public:
  explicit bad_expected_access(E e) : error_(std::move(e)) {}
  const char* what() const noexcept override { return "bad access to expected without value"; }
  const E& error() const& noexcept { return error_; }
  E& error() & noexcept { return error_; }

 private:
  E error_;
};

template <typename T, typename E>
class expected;

namespace detail {
template <typename X>
struct is_expected : std::false_type {};
template <typename T, typename E>
struct is_expected<expected<T, E>> : std::true_type {};
template <typename X>
struct is_unexpected : std::false_type {};
template <typename E>
struct is_unexpected<unexpected<E>> : std::true_type {};
}  // namespace detail

// expected<T, E>: holds a T or an E (index 0 = value, 1 = error; the variant copes with T == E).
template <typename T, typename E>
class expected {
 public:
  using value_type = T;
  using error_type = E;
  using unexpected_type = unexpected<E>;
  template <typename U>
  using rebind = expected<U, E>;

  constexpr expected() requires std::is_default_constructible_v<T> : v_(std::in_place_index<0>) {}
  constexpr expected(const expected&) = default;
  constexpr expected(expected&&) = default;
  constexpr expected& operator=(const expected&) = default;
  constexpr expected& operator=(expected&&) = default;

  template <typename U = T>
  requires(!std::is_same_v<std::remove_cvref_t<U>, std::in_place_t> &&
           !std::is_same_v<std::remove_cvref_t<U>, expected> &&
           !detail::is_unexpected<std::remove_cvref_t<U>>::value &&
           std::is_constructible_v<T, U>) constexpr explicit(!std::is_convertible_v<U, T>)
      expected(U&& v)
      : v_(std::in_place_index<0>, std::forward<U>(v)) {}

  template <typename U, typename G>
  requires(!std::is_same_v<expected<U, G>, expected> && std::is_constructible_v<T, const U&> &&
           std::is_constructible_v<
               E, const G&>) constexpr explicit(!std::is_convertible_v<const U&, T> ||
                                                !std::is_convertible_v<const G&, E>)
      expected(const expected<U, G>& other)
      : v_(other.has_value() ? variant_type(std::in_place_index<0>, *other)
                             : variant_type(std::in_place_index<1>, other.error())) {}
  template <typename U, typename G>
  requires(!std::is_same_v<expected<U, G>, expected> && std::is_constructible_v<T, U> &&
           std::is_constructible_v<E, G>) constexpr explicit(!std::is_convertible_v<U, T> ||
                                                             !std::is_convertible_v<G, E>)
      expected(expected<U, G>&& other)
      : v_(other.has_value() ? variant_type(std::in_place_index<0>, std::move(*other))
                             : variant_type(std::in_place_index<1>, std::move(other).error())) {}

  template <typename G>
  requires std::is_constructible_v<E, const G&>
  constexpr explicit(!std::is_convertible_v<const G&, E>) expected(const unexpected<G>& u)
      : v_(std::in_place_index<1>, u.error()) {}
  template <typename G>
  requires std::is_constructible_v<E, G>
  constexpr explicit(!std::is_convertible_v<G, E>) expected(unexpected<G>&& u)
      : v_(std::in_place_index<1>, std::move(u).error()) {}

  template <typename... Args>
  constexpr explicit expected(std::in_place_t, Args&&... args)
      : v_(std::in_place_index<0>, std::forward<Args>(args)...) {}
  template <typename... Args>
  constexpr explicit expected(unexpect_t, Args&&... args)
      : v_(std::in_place_index<1>, std::forward<Args>(args)...) {}

  template <typename U = T>
  requires(!std::is_same_v<std::remove_cvref_t<U>, expected> &&
           !detail::is_unexpected<std::remove_cvref_t<U>>::value && std::is_constructible_v<T, U> &&
           std::is_assignable_v<T&, U>) constexpr expected&
  operator=(U&& v) {
    v_.template emplace<0>(std::forward<U>(v));
    return *this;
  }
  template <typename G>
  constexpr expected& operator=(const unexpected<G>& u) {
    v_.template emplace<1>(u.error());
    return *this;
  }
  template <typename G>
  constexpr expected& operator=(unexpected<G>&& u) {
    v_.template emplace<1>(std::move(u).error());
    return *this;
  }

  template <typename... Args>
  constexpr T& emplace(Args&&... args) {
    return v_.template emplace<0>(std::forward<Args>(args)...);
  }

  constexpr void swap(expected& other) { v_.swap(other.v_); }
  friend constexpr void swap(expected& a, expected& b) { a.swap(b); }

  constexpr bool has_value() const noexcept { return v_.index() == 0; }
  constexpr explicit operator bool() const noexcept { return has_value(); }

  constexpr const T* operator->() const noexcept { return std::get_if<0>(&v_); }
  constexpr T* operator->() noexcept { return std::get_if<0>(&v_); }
  constexpr const T& operator*() const& noexcept { return *std::get_if<0>(&v_); }
  constexpr T& operator*() & noexcept { return *std::get_if<0>(&v_); }
  constexpr const T&& operator*() const&& noexcept { return std::move(*std::get_if<0>(&v_)); }
  constexpr T&& operator*() && noexcept { return std::move(*std::get_if<0>(&v_)); }

  constexpr const T& value() const& {
    check();
    return **this;
  }
  constexpr T& value() & {
    check();
    return **this;
  }
  constexpr const T&& value() const&& {
    check();
    return std::move(**this);
  }
  constexpr T&& value() && {
    check();
    return std::move(**this);
  }

  constexpr const E& error() const& noexcept { return *std::get_if<1>(&v_); }
  constexpr E& error() & noexcept { return *std::get_if<1>(&v_); }
  constexpr const E&& error() const&& noexcept { return std::move(*std::get_if<1>(&v_)); }
  constexpr E&& error() && noexcept { return std::move(*std::get_if<1>(&v_)); }

  template <typename U>
  constexpr T value_or(U&& fallback) const& {
    return has_value() ? **this : static_cast<T>(std::forward<U>(fallback));
  }
  template <typename U>
  constexpr T value_or(U&& fallback) && {
    return has_value() ? std::move(**this) : static_cast<T>(std::forward<U>(fallback));
  }
  template <typename G = E>
  constexpr E error_or(G&& fallback) const& {
    return has_value() ? static_cast<E>(std::forward<G>(fallback)) : error();
  }

  // Monadic operations (C++23): f receives the value (and_then/transform) or the error.
  template <typename F>
  constexpr auto and_then(F&& f) & {
    return bind(*this, std::forward<F>(f));
  }
  template <typename F>
  constexpr auto and_then(F&& f) const& {
    return bind(*this, std::forward<F>(f));
  }
  template <typename F>
  constexpr auto and_then(F&& f) && {
    return bind(std::move(*this), std::forward<F>(f));
  }
  template <typename F>
  constexpr auto transform(F&& f) & {
    return map(*this, std::forward<F>(f));
  }
  template <typename F>
  constexpr auto transform(F&& f) const& {
    return map(*this, std::forward<F>(f));
  }
  template <typename F>
  constexpr auto transform(F&& f) && {
    return map(std::move(*this), std::forward<F>(f));
  }
  template <typename F>
  constexpr auto or_else(F&& f) const& {
    using R = std::remove_cvref_t<std::invoke_result_t<F, const E&>>;
    return has_value() ? R(std::in_place, **this) : std::invoke(std::forward<F>(f), error());
  }
  template <typename F>
  constexpr auto or_else(F&& f) && {
    using R = std::remove_cvref_t<std::invoke_result_t<F, E&&>>;
    return has_value() ? R(std::in_place, std::move(**this))
                       : std::invoke(std::forward<F>(f), std::move(*this).error());
  }
  template <typename F>
  constexpr auto transform_error(F&& f) const& {
    using G = std::remove_cv_t<std::invoke_result_t<F, const E&>>;
    if (has_value()) return expected<T, G>(std::in_place, **this);
    return expected<T, G>(unexpect, std::invoke(std::forward<F>(f), error()));
  }

  template <typename U, typename G>
  friend constexpr bool operator==(const expected& a, const expected<U, G>& b) {
    if (a.has_value() != b.has_value()) return false;
    return a.has_value() ? *a == *b : a.error() == b.error();
  }
  template <typename U>
  requires(!detail::is_expected<U>::value && !detail::is_unexpected<U>::value) friend constexpr bool
  operator==(const expected& a, const U& v) {
    return a.has_value() && *a == v;
  }
  template <typename G>
  friend constexpr bool operator==(const expected& a, const unexpected<G>& u) {
    return !a.has_value() && a.error() == u.error();
  }

 private:
  using variant_type = std::variant<T, E>;

  constexpr void check() const {
    if (!has_value()) throw bad_expected_access<E>(error());
  }
  template <typename Self, typename F>
  static constexpr auto bind(Self&& self, F&& f) {
    using R = std::remove_cvref_t<std::invoke_result_t<F, decltype(*std::forward<Self>(self))>>;
    if (self.has_value()) return std::invoke(std::forward<F>(f), *std::forward<Self>(self));
    return R(unexpect, std::forward<Self>(self).error());
  }
  template <typename Self, typename F>
  static constexpr auto map(Self&& self, F&& f) {
    using U = std::remove_cv_t<std::invoke_result_t<F, decltype(*std::forward<Self>(self))>>;
    if constexpr (std::is_void_v<U>) {
      if (!self.has_value()) return expected<void, E>(unexpect, std::forward<Self>(self).error());
      std::invoke(std::forward<F>(f), *std::forward<Self>(self));
      return expected<void, E>();
    } else {
      if (!self.has_value()) return expected<U, E>(unexpect, std::forward<Self>(self).error());
      return expected<U, E>(std::in_place,
                            std::invoke(std::forward<F>(f), *std::forward<Self>(self)));
    }
  }

  variant_type v_;
};

// expected<void, E>: success carries nothing.
template <typename E>
class expected<void, E> {
 public:
  using value_type = void;
  using error_type = E;
  using unexpected_type = unexpected<E>;
  template <typename U>
  using rebind = expected<U, E>;

  constexpr expected() noexcept : error_(std::in_place_index<0>) {}
  constexpr expected(const expected&) = default;
  constexpr expected(expected&&) = default;
  constexpr expected& operator=(const expected&) = default;
  constexpr expected& operator=(expected&&) = default;

  template <typename G>
  requires std::is_constructible_v<E, const G&>
  constexpr explicit(!std::is_convertible_v<const G&, E>) expected(const unexpected<G>& u)
      : error_(std::in_place_index<1>, u.error()) {}
  template <typename G>
  requires std::is_constructible_v<E, G>
  constexpr explicit(!std::is_convertible_v<G, E>) expected(unexpected<G>&& u)
      : error_(std::in_place_index<1>, std::move(u).error()) {}
  template <typename G>
  requires(!std::is_same_v<G, E> && std::is_constructible_v<E, const G&>) constexpr explicit(
      !std::is_convertible_v<const G&, E>) expected(const expected<void, G>& other)
      : error_(other.has_value() ? holder(std::in_place_index<0>)
                                 : holder(std::in_place_index<1>, other.error())) {}
  constexpr explicit expected(std::in_place_t) noexcept : error_(std::in_place_index<0>) {}
  template <typename... Args>
  constexpr explicit expected(unexpect_t, Args&&... args)
      : error_(std::in_place_index<1>, std::forward<Args>(args)...) {}

  template <typename G>
  constexpr expected& operator=(const unexpected<G>& u) {
    error_.template emplace<1>(u.error());
    return *this;
  }
  template <typename G>
  constexpr expected& operator=(unexpected<G>&& u) {
    error_.template emplace<1>(std::move(u).error());
    return *this;
  }
  constexpr void emplace() noexcept { error_.template emplace<0>(); }
  constexpr void swap(expected& other) { error_.swap(other.error_); }

  constexpr bool has_value() const noexcept { return error_.index() == 0; }
  constexpr explicit operator bool() const noexcept { return has_value(); }
  constexpr void operator*() const noexcept {}
  constexpr void value() const {
    if (!has_value()) throw bad_expected_access<E>(error());
  }

  constexpr const E& error() const& noexcept { return *std::get_if<1>(&error_); }
  constexpr E& error() & noexcept { return *std::get_if<1>(&error_); }
  constexpr const E&& error() const&& noexcept { return std::move(*std::get_if<1>(&error_)); }
  constexpr E&& error() && noexcept { return std::move(*std::get_if<1>(&error_)); }
  template <typename G = E>
  constexpr E error_or(G&& fallback) const& {
    return has_value() ? static_cast<E>(std::forward<G>(fallback)) : error();
  }

  template <typename F>
  constexpr auto and_then(F&& f) const& {
    using R = std::remove_cvref_t<std::invoke_result_t<F>>;
    if (has_value()) return std::invoke(std::forward<F>(f));
    return R(unexpect, error());
  }
  template <typename F>
  constexpr auto transform(F&& f) const& {
    using U = std::remove_cv_t<std::invoke_result_t<F>>;
    if constexpr (std::is_void_v<U>) {
      if (!has_value()) return expected<void, E>(unexpect, error());
      std::invoke(std::forward<F>(f));
      return expected<void, E>();
    } else {
      if (!has_value()) return expected<U, E>(unexpect, error());
      return expected<U, E>(std::in_place, std::invoke(std::forward<F>(f)));
    }
  }
  template <typename F>
  constexpr auto or_else(F&& f) const& {
    using R = std::remove_cvref_t<std::invoke_result_t<F, const E&>>;
    return has_value() ? R() : std::invoke(std::forward<F>(f), error());
  }

  template <typename G>
  friend constexpr bool operator==(const expected& a, const expected<void, G>& b) {
    if (a.has_value() != b.has_value()) return false;
    return a.has_value() || a.error() == b.error();
  }
  template <typename G>
  friend constexpr bool operator==(const expected& a, const unexpected<G>& u) {
    return !a.has_value() && a.error() == u.error();
  }

 private:
  using holder = std::variant<std::monostate, E>;
  holder error_;
};

}  // namespace plinth::compat
