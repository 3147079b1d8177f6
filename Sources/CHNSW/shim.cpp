// See include/reckit_hnsw.h. A shared mutex lets searches run together while an insertion,
// deletion or growth of the index runs alone.
#include "reckit_hnsw.h"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

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

// Grows the graph so that `needed` points fit, doubling to keep growth amortized.
void reserve(reckit_hnsw *index, size_t needed) {
    size_t capacity = index->graph->max_elements_;
    if (needed <= capacity) return;
    index->graph->resizeIndex(std::max(needed, capacity * 2));
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
    reckit_hnsw *index, const float *vectors, size_t count, uint64_t first_label, size_t threads, char *error,
    size_t error_length) {
    try {
        std::unique_lock<std::shared_mutex> guard(index->lock);
        reserve(index, index->graph->cur_element_count + count);
        size_t start = 0;
        // hnswlib picks its entry point from the first point; add it alone.
        if (count > 0 && index->graph->cur_element_count == 0) {
            index->graph->addPoint(vectors, first_label);
            start = 1;
        }
        std::atomic<size_t> next(start);
        std::string failure;
        std::mutex failureLock;
        auto worker = [&]() {
            for (;;) {
                size_t row = next.fetch_add(1);
                if (row >= count) return;
                try {
                    index->graph->addPoint(vectors + row * index->dimension, first_label + row);
                } catch (const std::exception &e) {
                    std::lock_guard<std::mutex> hold(failureLock);
                    failure = e.what();
                    next.store(count);
                }
            }
        };
        size_t workers = std::max<size_t>(1, std::min(threads, count));
        std::vector<std::thread> pool;
        for (size_t t = 1; t < workers; t++) pool.emplace_back(worker);
        worker();
        for (auto &thread : pool) thread.join();
        if (!failure.empty()) throw std::runtime_error(failure);
        return 0;
    } catch (const std::exception &e) {
        report(error, error_length, e.what());
    } catch (...) {
        report(error, error_length, "hnswlib failed to add points");
    }
    return -1;
}

long reckit_hnsw_search(
    const reckit_hnsw *index, const float *query, size_t k, size_t ef, uint64_t *labels, float *distances,
    char *error, size_t error_length) {
    try {
        std::shared_lock<std::shared_mutex> guard(index->lock);
        // hnswlib 0.6 explores max(ef_, k) candidates: asking for max(k, ef) and keeping the
        // best k sets the search width per call without touching the shared ef_.
        auto found = index->graph->searchKnn(query, std::max(k, ef));
        std::vector<std::pair<float, hnswlib::labeltype>> sorted;
        sorted.reserve(found.size());
        while (!found.empty()) {
            sorted.push_back(found.top());
            found.pop();
        }
        std::reverse(sorted.begin(), sorted.end());
        size_t written = std::min(k, sorted.size());
        for (size_t i = 0; i < written; i++) {
            distances[i] = sorted[i].first;
            labels[i] = sorted[i].second;
        }
        return static_cast<long>(written);
    } catch (const std::exception &e) {
        report(error, error_length, e.what());
    } catch (...) {
        report(error, error_length, "hnswlib failed to search");
    }
    return -1;
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

size_t reckit_hnsw_deleted_count(const reckit_hnsw *index) {
    std::shared_lock<std::shared_mutex> guard(index->lock);
    return index->graph->num_deleted_;
}
}
