// Interval reasoning for bounded numbers (see number_bounds.h).
#include "number_bounds.h"

#include <algorithm>
#include <cmath>

namespace plinth::structured::detail {
namespace {

double pow10(int n) {
  static const double kPowers[] = {1e0, 1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7, 1e8,
                                   1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16};
  return kPowers[n];
}

struct Interval {
  double lo, hi;
  bool lo_open, hi_open;
};

bool intersects_bounds(const ir::NumberSpec& s, Interval iv) {
  double lo = iv.lo, hi = iv.hi;
  bool lo_open = iv.lo_open, hi_open = iv.hi_open;
  if (s.has_min) {
    if (s.min > lo || (s.min == lo && s.exclusive_min)) {
      lo = s.min;
      lo_open = s.exclusive_min;
    }
  }
  if (s.has_max) {
    if (s.max < hi || (s.max == hi && s.exclusive_max)) {
      hi = s.max;
      hi_open = s.exclusive_max;
    }
  }
  if (s.integer) {
    double first = lo_open ? std::floor(lo) + 1 : std::ceil(lo);
    double last = hi_open ? std::ceil(hi) - 1 : std::floor(hi);
    if (s.multiple > 0) {
      first = std::ceil(first / s.multiple) * s.multiple;
      last = std::floor(last / s.multiple) * s.multiple;
    }
    return first <= last;
  }
  return lo < hi || (lo == hi && !lo_open && !hi_open);
}

// Decimal multiples (spec.decimals > 0) in integer units of 10^-decimals: some multiple of
// spec.multiple among the magnitudes [lo, hi] (negated when negative) meets the bounds.
bool decimal_feasible(const ir::NumberSpec& s, bool negative, double lo, double hi) {
  double scale = pow10(s.decimals);
  auto units = [&](double bound) {  // a bound in units, snapped when it is one up to rounding
    double u = bound * scale, r = std::round(u);
    return std::fabs(u - r) <= 1e-9 * std::max(1.0, std::fabs(r)) ? r : u;
  };
  double first = negative ? -hi : lo, last = negative ? -lo : hi;
  if (s.has_min) {
    double m = units(s.min);
    first = std::max(first, s.exclusive_min ? std::floor(m) + 1 : std::ceil(m));
  }
  if (s.has_max) {
    double m = units(s.max);
    last = std::min(last, s.exclusive_max ? std::ceil(m) - 1 : std::floor(m));
  }
  first = std::ceil(first / s.multiple) * s.multiple;
  last = std::floor(last / s.multiple) * s.multiple;
  return first <= last;
}

// Magnitudes reachable from a prefix, mirrored for negative numbers.
bool feasible_magnitude(const ir::NumberSpec& s, bool negative, double lo, double hi,
                        bool hi_open) {
  Interval iv = negative ? Interval{-hi, -lo, hi_open, false} : Interval{lo, hi, false, hi_open};
  return intersects_bounds(s, iv);
}

// Integer digits are capped so that the number's units keep at most kMaxNumberDigits digits.
bool decimal_prefix_feasible(const ir::NumberSpec& s, const Frame& f) {
  bool negative = f.small & 1;
  int32_t k = s.decimals, room = kMaxNumberDigits - k;  // integer digits allowed
  double unit = pow10(k);
  switch (f.phase) {
    case 0:
      return true;
    case 1:
      return decimal_feasible(s, true, 0, pow10(kMaxNumberDigits) - 1);
    case 2:
      return decimal_feasible(s, negative, 0, unit - 1);
    case 3:
      for (int j = 0; f.a + j <= room; ++j) {
        double lo = f.v * pow10(j) * unit;
        if (decimal_feasible(s, negative, lo, lo + pow10(j) * unit - 1)) return true;
      }
      return false;
    case 4:
      return decimal_feasible(s, negative, f.v * unit, f.v * unit + unit - 1);
    case 5: {
      if (f.aux > k) return false;
      double step = pow10(k - f.aux);
      return decimal_feasible(s, negative, f.v * step, f.v * step + step - 1);
    }
    default:
      return false;
  }
}

}  // namespace

bool number_value_ok(const ir::NumberSpec& s, const Frame& f) {
  if (f.phase == 8) return !s.has_min && !s.has_max && s.multiple == 0;  // only when unbounded
  if (s.decimals > 0) {
    double units = f.v * pow10(s.decimals - f.aux);
    return decimal_feasible(s, f.small & 1, units, units);
  }
  double magnitude = f.aux == 0 ? f.v : f.v / pow10(f.aux);
  double value = (f.small & 1) ? -magnitude : magnitude;
  if (s.has_min && (value < s.min || (s.exclusive_min && value == s.min))) return false;
  if (s.has_max && (value > s.max || (s.exclusive_max && value == s.max))) return false;
  if (s.multiple > 0 && std::fmod(magnitude, s.multiple) != 0) return false;
  return true;
}

bool number_feasible(const ir::NumberSpec& s) {
  double most = pow10(kMaxNumberDigits);
  if (s.decimals > 0)
    return decimal_feasible(s, false, 0, most - 1) || decimal_feasible(s, true, 0, most - 1);
  return feasible_magnitude(s, false, 0, most, true) || feasible_magnitude(s, true, 0, most, true);
}

bool number_prefix_feasible(const ir::NumberSpec& s, const Frame& f) {
  bool negative = f.small & 1;
  if (s.decimals > 0) return decimal_prefix_feasible(s, f);
  switch (f.phase) {
    case 0:
      return true;
    case 1:
      return feasible_magnitude(s, true, 0, pow10(kMaxNumberDigits), true);
    case 2:
      return feasible_magnitude(s, negative, 0, s.integer ? 0 : 1, !s.integer);
    case 3:
      for (int k = 0; f.a + k <= kMaxNumberDigits; ++k) {
        double lo = f.v * pow10(k);
        double hi = s.integer ? lo + pow10(k) - 1 : lo + pow10(k);
        if (feasible_magnitude(s, negative, lo, hi, !s.integer)) return true;
      }
      return false;
    case 4:
      return feasible_magnitude(s, negative, f.v, f.v + 1, true);
    case 5: {
      double scale = pow10(f.aux);
      return feasible_magnitude(s, negative, f.v / scale, (f.v + 1) / scale, true);
    }
    default:
      return true;
  }
}

}  // namespace plinth::structured::detail
