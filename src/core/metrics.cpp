#include "core/metrics.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace parley::metrics {

namespace {
void atomic_add(std::atomic<double>& a, double d) noexcept {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

std::string format_double(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Adds one label to an already rendered label set ("" or {a="b"}).
std::string with_label(const std::string& rendered, const std::string& key, const std::string& v) {
  std::string extra = key + "=\"" + v + "\"";
  if (rendered.empty()) return "{" + extra + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + extra + "}";
}
}  // namespace

void Gauge::add(double d) noexcept { atomic_add(v_, d); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::observe(double v) noexcept {
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
}

std::vector<double> latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

std::string render_labels(const Labels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    for (char c : v) {
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '"') {
        out += "\\\"";
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    out += '"';
  }
  out += '}';
  return out;
}

Registry::Family& Registry::family(const std::string& name, const std::string& help, Type type) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.type = type;
    it->second.help = help;
  } else if (it->second.type != type) {
    throw std::logic_error("metric " + name + " registered with two types");
  }
  return it->second;
}

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& slot = family(name, help, Type::counter).counters[render_labels(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& slot = family(name, help, Type::gauge).gauges[render_labels(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               const Labels& labels, std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  auto& slot = family(name, help, Type::histogram).histograms[render_labels(labels)];
  if (!slot) slot = std::make_unique<Histogram>(std::move(bounds));
  return *slot;
}

void Registry::on_collect(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(fn));
}

std::string Registry::render() {
  std::vector<std::function<void()>> collectors;
  {
    std::lock_guard lock(mu_);
    collectors = collectors_;
  }
  for (auto& c : collectors) c();

  std::lock_guard lock(mu_);
  std::string out;
  out.reserve(16384);
  for (const auto& [name, fam] : families_) {
    out += "# HELP " + name + " " + fam.help + "\n";
    switch (fam.type) {
      case Type::counter:
        out += "# TYPE " + name + " counter\n";
        for (const auto& [labels, c] : fam.counters) {
          out += name + labels + " " + std::to_string(c->value()) + "\n";
        }
        break;
      case Type::gauge:
        out += "# TYPE " + name + " gauge\n";
        for (const auto& [labels, g] : fam.gauges) {
          out += name + labels + " " + format_double(g->value()) + "\n";
        }
        break;
      case Type::histogram:
        out += "# TYPE " + name + " histogram\n";
        for (const auto& [labels, h] : fam.histograms) {
          std::uint64_t cumulative = 0;
          for (std::size_t i = 0; i <= h->bounds().size(); ++i) {
            cumulative += h->bucket(i);
            std::string le = i < h->bounds().size() ? format_double(h->bounds()[i]) : "+Inf";
            out += name + "_bucket" + with_label(labels, "le", le) + " " +
                   std::to_string(cumulative) + "\n";
          }
          out += name + "_sum" + labels + " " + format_double(h->sum()) + "\n";
          out += name + "_count" + labels + " " + std::to_string(h->count()) + "\n";
        }
        break;
    }
  }
  return out;
}

std::map<std::string, Registry::Totals> Registry::totals(const std::vector<std::string>& names) {
  std::vector<std::function<void()>> collectors;
  {
    std::lock_guard lock(mu_);
    collectors = collectors_;
  }
  for (auto& c : collectors) c();

  std::lock_guard lock(mu_);
  std::map<std::string, Totals> out;
  for (const auto& name : names) {
    auto& t = out[name];
    auto it = families_.find(name);
    if (it == families_.end()) continue;
    const Family& fam = it->second;
    t.found = true;
    for (const auto& [labels, c] : fam.counters) t.value += static_cast<double>(c->value());
    for (const auto& [labels, g] : fam.gauges) t.value += g->value();
    for (const auto& [labels, h] : fam.histograms) {
      if (t.bounds.empty()) {
        t.bounds = h->bounds();
        t.buckets.assign(t.bounds.size() + 1, 0);
      } else if (t.bounds != h->bounds()) {
        continue;
      }
      for (std::size_t i = 0; i <= t.bounds.size(); ++i) t.buckets[i] += h->bucket(i);
      t.count += h->count();
      t.sum += h->sum();
    }
  }
  return out;
}

}  // namespace parley::metrics
