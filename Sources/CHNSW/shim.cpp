// See include/reckit_hnsw.h. A shared mutex lets searches run together while an insertion,
// deletion or growth of the index runs alone.
#include "reckit_hnsw.h"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <limits>
#include <queue>
#include <cstdlib>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#ifdef __linux__
#include <sys/mman.h>
#endif

struct reckit_hnsw {
    std::unique_ptr<hnswlib::SpaceInterface<float>> space;
    std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;
    size_t dimension;
    mutable std::shared_mutex lock;
};

namespace {

void report(char *error, size_t length, const char *message) {
    if (error == nullptr || length == 0) return;
    std::strncpy(error, message, length - 1);
    error[length - 1] = '\0';
}

std::unique_ptr<hnswlib::SpaceInterface<float>> makeSpace(reckit_hnsw_metric metric, size_t dimension) {
    if (metric == RECKIT_HNSW_L2) return std::make_unique<hnswlib::L2Space>(dimension);
    return std::make_unique<hnswlib::InnerProductSpace>(dimension);
}

// Moves the base layer (links, vectors and labels of every point; hundreds of MiB at 10^6 items)
// into memory the kernel backs with 2 MiB pages where it can. A search visits points all over
// it, and with 4 KiB pages nearly every visit is a TLB miss. Best effort: without room for an
// aligned copy the index stays where it is.
void moveBaseLayerToHugePages(hnswlib::HierarchicalNSW<float> &graph) {
#ifdef __linux__
    if (const char *flag = std::getenv("RECKIT_HNSW_HUGE_PAGES"); flag != nullptr && flag[0] == '0') return;
    const size_t huge = size_t(2) << 20;
    size_t bytes = graph.max_elements_ * graph.size_data_per_element_;
    if (bytes < huge) return;
    size_t rounded = (bytes + huge - 1) / huge * huge;
    char *memory = static_cast<char *>(std::aligned_alloc(huge, rounded));
    if (memory == nullptr) return;
    madvise(memory, rounded, MADV_HUGEPAGE);
    std::memcpy(memory, graph.data_level0_memory_, graph.cur_element_count * graph.size_data_per_element_);
    std::free(graph.data_level0_memory_);
    graph.data_level0_memory_ = memory;
#else
    (void)graph;
#endif
}

// Grows the graph so that `needed` points fit, doubling to keep growth amortized. hnswlib's
// `resizeIndex` reallocates the base layer with `realloc`, which keeps neither the 2 MiB
// alignment nor the advice, so the base layer is moved onto huge pages again (one more copy
// per doubling).
void reserve(reckit_hnsw *index, size_t needed) {
    size_t capacity = index->graph->max_elements_;
    if (needed <= capacity) return;
    index->graph->resizeIndex(std::max(needed, capacity * 2));
    moveBaseLayerToHugePages(*index->graph);
}

using Graph = hnswlib::HierarchicalNSW<float>;
using Candidate = std::pair<float, hnswlib::tableint>;
using Queue = std::priority_queue<Candidate, std::vector<Candidate>, Graph::CompareByFirst>;

// hnswlib 0.6.2's `searchKnn`, step for step, with three changes. Points whose label is in
// `excluded` (sorted) are walked through but never kept, as deleted points are, so a user's seen
// items do not crowd the `ef` best out (what hnswlib 0.7's filter functor does). The shared search
// counters are not updated: `searchKnn` adds to two atomics at every step of the walk, a cache
// line that concurrent searches pass back and forth. And a point's neighbours are fetched from
// memory together (below). Returns up to `k` (distance, label) pairs, nearest first.
std::vector<std::pair<float, uint64_t>> searchGraph(
    const Graph &graph, const float *query, size_t k, size_t ef, const uint64_t *excluded, size_t excludedCount) {
    std::vector<std::pair<float, uint64_t>> result;
    if (graph.cur_element_count == 0 || k == 0) return result;
    auto distance = [&](hnswlib::tableint id) {
        return graph.fstdistfunc_(query, graph.getDataByInternalId(id), graph.dist_func_param_);
    };
    const bool filtering = graph.num_deleted_ > 0 || excludedCount > 0;
    auto keep = [&](hnswlib::tableint id) {
        if (graph.num_deleted_ > 0 && graph.isMarkedDeleted(id)) return false;
        return excludedCount == 0 ||
               !std::binary_search(excluded, excluded + excludedCount, uint64_t(graph.getExternalLabel(id)));
    };

    // Greedy descent through the upper layers.
    hnswlib::tableint current = graph.enterpoint_node_;
    float currentDistance = distance(current);
    for (int level = graph.maxlevel_; level > 0; level--) {
        for (bool changed = true; changed;) {
            changed = false;
            auto *list = reinterpret_cast<hnswlib::linklistsizeint *>(graph.get_linklist(current, level));
            auto size = graph.getListCount(list);
            auto *links = reinterpret_cast<hnswlib::tableint *>(list + 1);
            for (size_t i = 0; i < size; i++) {
                float d = distance(links[i]);
                if (d < currentDistance) {
                    currentDistance = d;
                    current = links[i];
                    changed = true;
                }
            }
        }
    }

    // Best-first search of the base layer, `width` candidates wide.
    const size_t width = std::max(ef, k);
    hnswlib::VisitedList *visitedList = graph.visited_list_pool_->getFreeVisitedList();
    struct Release {
        const Graph &graph;
        hnswlib::VisitedList *list;
        ~Release() { graph.visited_list_pool_->releaseVisitedList(list); }
    } release{graph, visitedList};
    hnswlib::vl_type *visited = visitedList->mass;
    const hnswlib::vl_type tag = visitedList->curV;
    Queue top, candidates;
    float lowerBound = std::numeric_limits<float>::max();
    if (keep(current)) {
        top.emplace(currentDistance, current);
        lowerBound = currentDistance;
    }
    candidates.emplace(-currentDistance, current);
    visited[current] = tag;
    char *base = graph.data_level0_memory_;
    const size_t stride = graph.size_data_per_element_;
    // A point's neighbours are fetched from memory together: their visited marks first, then
    // the vectors of those not yet visited, every cache line of each, then the distances. The
    // graph is hundreds of MiB and its points lie anywhere in it, so a search mostly waits on
    // memory; hnswlib's own loop asks for one cache line of the next neighbour at a time.
    // Neighbours are taken in list order, so the search is hnswlib's step for step.
    const size_t vectorBytes = graph.data_size_;
    std::vector<hnswlib::tableint> fresh(std::max<size_t>(graph.maxM0_, graph.maxM_) + 1);
    while (!candidates.empty()) {
        Candidate next = candidates.top();
        if (-next.first > lowerBound && (top.size() == width || !filtering)) break;
        candidates.pop();
        auto *list = reinterpret_cast<hnswlib::linklistsizeint *>(graph.get_linklist0(next.second));
        size_t size = std::min<size_t>(graph.getListCount(list), fresh.size());
        auto *links = reinterpret_cast<hnswlib::tableint *>(list + 1);
#ifdef USE_SSE
        for (size_t j = 0; j < size; j++) _mm_prefetch(reinterpret_cast<char *>(visited + links[j]), _MM_HINT_T0);
#endif
        size_t count = 0;
        for (size_t j = 0; j < size; j++) {
            hnswlib::tableint candidate = links[j];
            if (visited[candidate] == tag) continue;
            visited[candidate] = tag;
            fresh[count++] = candidate;
#ifdef USE_SSE
            char *vector = base + candidate * stride + graph.offsetData_;
            for (size_t offset = 0; offset < vectorBytes; offset += 64) _mm_prefetch(vector + offset, _MM_HINT_T0);
            _mm_prefetch(vector + vectorBytes - 1, _MM_HINT_T0);
#endif
        }
        for (size_t i = 0; i < count; i++) {
            hnswlib::tableint candidate = fresh[i];
            float d = distance(candidate);
            if (top.size() < width || lowerBound > d) {
                candidates.emplace(-d, candidate);
#ifdef USE_SSE
                _mm_prefetch(base + candidates.top().second * stride + graph.offsetLevel0_, _MM_HINT_T0);
#endif
                if (keep(candidate)) top.emplace(d, candidate);
                if (top.size() > width) top.pop();
                if (!top.empty()) lowerBound = top.top().first;
            }
        }
    }
    while (top.size() > k) top.pop();
    result.resize(top.size());
    for (size_t i = top.size(); i-- > 0;) {
        result[i] = {top.top().first, graph.getExternalLabel(top.top().second)};
        top.pop();
    }
    return result;
}

}  // namespace

extern "C" {

reckit_hnsw *reckit_hnsw_create(
    reckit_hnsw_metric metric, size_t dimension, size_t capacity, size_t m, size_t ef_construction, size_t seed,
    char *error, size_t error_length) {
    try {
        auto index = std::make_unique<reckit_hnsw>();
        index->space = makeSpace(metric, dimension);
        index->dimension = dimension;
        index->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(
            index->space.get(), std::max<size_t>(capacity, 1), m, ef_construction, seed);
        moveBaseLayerToHugePages(*index->graph);
        return index.release();
    } catch (const std::exception &e) {
        report(error, error_length, e.what());
    } catch (...) {
        report(error, error_length, "hnswlib failed to create the index");
    }
    return nullptr;
}

reckit_hnsw *reckit_hnsw_load(
    const char *path, reckit_hnsw_metric metric, size_t dimension, size_t capacity, char *error,
    size_t error_length) {
    try {
        auto index = std::make_unique<reckit_hnsw>();
        index->space = makeSpace(metric, dimension);
        index->dimension = dimension;
        index->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(index->space.get());
        // hnswlib 0.6.2's loading constructor leaves the deletion count unset, and loadIndex adds
        // the file's deleted points to it.
        index->graph->num_deleted_ = 0;
        index->graph->loadIndex(path, index->space.get(), capacity);
        if (index->graph->data_size_ != dimension * sizeof(float))
            throw std::runtime_error("the index holds vectors of another dimension");
        moveBaseLayerToHugePages(*index->graph);
        return index.release();
    } catch (const std::exception &e) {
        report(error, error_length, e.what());
    } catch (...) {
        report(error, error_length, "hnswlib failed to load the index");
    }
    return nullptr;
}

void reckit_hnsw_free(reckit_hnsw *index) { delete index; }

int reckit_hnsw_add(
    reckit_hnsw *index, const float *vectors, const uint64_t *labels, const int32_t *levels, size_t count,
    size_t threads, char *error, size_t error_length) {
    try {
        std::unique_lock<std::shared_mutex> guard(index->lock);
        auto &graph = *index->graph;
        reserve(index, graph.cur_element_count + count);
        // Rows with a chosen level above 0 first, then the rest.
        std::vector<size_t> upper, lower;
        for (size_t row = 0; row < count; row++)
            (levels != nullptr && levels[row] > 0 ? upper : lower).push_back(row);
        auto insert = [&](const std::vector<size_t> &rows) {
            size_t start = 0;
            // hnswlib picks its entry point from the first point; add it alone.
            if (!rows.empty() && graph.cur_element_count == 0) {
                size_t row = rows[0];
                graph.addPoint(vectors + row * index->dimension, labels[row], levels ? levels[row] : -1);
                start = 1;
            }
            std::atomic<size_t> next(start);
            std::string failure;
            std::mutex failureLock;
            auto worker = [&]() {
                for (;;) {
                    size_t i = next.fetch_add(1);
                    if (i >= rows.size()) return;
                    size_t row = rows[i];
                    try {
                        graph.addPoint(vectors + row * index->dimension, labels[row], levels ? levels[row] : -1);
                    } catch (const std::exception &e) {
                        std::lock_guard<std::mutex> hold(failureLock);
                        failure = e.what();
                        next.store(rows.size());
                    }
                }
            };
            size_t workers = std::max<size_t>(1, std::min(threads, rows.size()));
            std::vector<std::thread> pool;
            for (size_t t = 1; t < workers; t++) pool.emplace_back(worker);
            worker();
            for (auto &thread : pool) thread.join();
            if (!failure.empty()) throw std::runtime_error(failure);
        };
        insert(upper);
        // hnswlib 0.6 draws a level when it is given 0 (-log(u) * mult_); with mult_ at 0 the draw
        // is 0. The exclusive lock keeps every other insertion out meanwhile.
        struct RestoredMult {
            Graph &graph;
            double mult;
            ~RestoredMult() { graph.mult_ = mult; }
        } restored{graph, graph.mult_};
        if (levels != nullptr) graph.mult_ = 0;
        insert(lower);
        return 0;
    } catch (const std::exception &e) {
        report(error, error_length, e.what());
    } catch (...) {
        report(error, error_length, "hnswlib failed to add points");
    }
    return -1;
}

long reckit_hnsw_search(
    const reckit_hnsw *index, const float *query, size_t k, size_t ef, const uint64_t *excluded,
    size_t excluded_count, uint64_t *labels, float *distances, char *error, size_t error_length) {
    try {
        std::shared_lock<std::shared_mutex> guard(index->lock);
        std::vector<uint64_t> sorted;
        if (excluded_count > 0 && !std::is_sorted(excluded, excluded + excluded_count)) {
            sorted.assign(excluded, excluded + excluded_count);
            std::sort(sorted.begin(), sorted.end());
            excluded = sorted.data();
        }
        auto found = searchGraph(*index->graph, query, k, ef, excluded, excluded_count);
        for (size_t i = 0; i < found.size(); i++) {
            distances[i] = found[i].first;
            labels[i] = found[i].second;
        }
        return static_cast<long>(found.size());
    } catch (const std::exception &e) {
        report(error, error_length, e.what());
    } catch (...) {
        report(error, error_length, "hnswlib failed to search");
    }
    return -1;
}

long reckit_hnsw_search_library(
    const reckit_hnsw *index, const float *query, size_t k, size_t ef, uint64_t *labels, float *distances) {
    std::shared_lock<std::shared_mutex> guard(index->lock);
    try {
        // hnswlib 0.6 explores max(ef_, k) candidates: asking for max(k, ef) and keeping the
        // best k sets the search width per call without touching the shared ef_.
        auto found = index->graph->searchKnn(query, std::max(k, ef));
        while (found.size() > k) found.pop();
        size_t written = found.size();
        for (size_t i = written; i-- > 0;) {
            distances[i] = found.top().first;
            labels[i] = found.top().second;
            found.pop();
        }
        return static_cast<long>(written);
    } catch (...) {
        return -1;
    }
}

int reckit_hnsw_set_deleted(reckit_hnsw *index, uint64_t label, int deleted, char *error, size_t error_length) {
    try {
        std::unique_lock<std::shared_mutex> guard(index->lock);
        auto &graph = *index->graph;
        auto found = graph.label_lookup_.find(label);
        if (found == graph.label_lookup_.end()) return 1;
        bool isDeleted = graph.isMarkedDeleted(found->second);
        if (deleted && !isDeleted) graph.markDelete(label);
        if (!deleted && isDeleted) graph.unmarkDelete(label);
        return 0;
    } catch (const std::exception &e) {
        report(error, error_length, e.what());
    } catch (...) {
        report(error, error_length, "hnswlib failed to mark the point");
    }
    return -1;
}

int reckit_hnsw_is_deleted(const reckit_hnsw *index, uint64_t label) {
    std::shared_lock<std::shared_mutex> guard(index->lock);
    auto &graph = *index->graph;
    auto found = graph.label_lookup_.find(label);
    if (found == graph.label_lookup_.end()) return -1;
    return graph.isMarkedDeleted(found->second) ? 1 : 0;
}

int reckit_hnsw_save(const reckit_hnsw *index, const char *path, char *error, size_t error_length) {
    try {
        std::shared_lock<std::shared_mutex> guard(index->lock);
        index->graph->saveIndex(path);
        return 0;
    } catch (const std::exception &e) {
        report(error, error_length, e.what());
    } catch (...) {
        report(error, error_length, "hnswlib failed to save the index");
    }
    return -1;
}

size_t reckit_hnsw_count(const reckit_hnsw *index) {
    std::shared_lock<std::shared_mutex> guard(index->lock);
    return index->graph->cur_element_count;
}

size_t reckit_hnsw_base_layer(const reckit_hnsw *index, uintptr_t *address) {
    std::shared_lock<std::shared_mutex> guard(index->lock);
    if (address != nullptr) *address = reinterpret_cast<uintptr_t>(index->graph->data_level0_memory_);
    return index->graph->max_elements_ * index->graph->size_data_per_element_;
}

size_t reckit_hnsw_deleted_count(const reckit_hnsw *index) {
    std::shared_lock<std::shared_mutex> guard(index->lock);
    return index->graph->num_deleted_;
}
}
