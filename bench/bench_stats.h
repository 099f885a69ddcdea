// Small helpers the benchmarks share: percentiles of latency samples and the load average.
#pragma once

#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace plinth::bench {

struct Percentiles {
  double p50 = 0;
  double p99 = 0;
  double max = 0;
  double mean = 0;
  size_t count = 0;
};

// Nearest-rank on the sorted samples; all zero when there are none.
inline Percentiles percentiles(std::vector<double> samples) {
  Percentiles p;
  if (samples.empty()) return p;
  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) { return samples[static_cast<size_t>(q * (samples.size() - 1))]; };
  p.p50 = at(0.5);
  p.p99 = at(0.99);
  p.max = samples.back();
  double sum = 0;
  for (double s : samples) sum += s;
  p.mean = sum / static_cast<double>(samples.size());
  p.count = samples.size();
  return p;
}

// "1.23 0.98 0.75" (1, 5 and 15 minutes): other work on the machine skews every figure.
inline std::string load_average() {
  double load[3] = {0, 0, 0};
  if (getloadavg(load, 3) != 3) return "unknown";
  char text[64];
  std::snprintf(text, sizeof text, "%.2f %.2f %.2f", load[0], load[1], load[2]);
  return text;
}

}  // namespace plinth::bench
