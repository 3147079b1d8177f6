// A C interface to hnswlib (Debian's libhnswlib-dev, header-only), so Swift can build, search,
// save and load an HNSW index without C++ interoperability. Every function catches what
// hnswlib throws and reports it through `error` (a buffer of `error_length` bytes).
#ifndef RECKIT_HNSW_H
#define RECKIT_HNSW_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct reckit_hnsw reckit_hnsw;

/// The distance the graph is built on: hnswlib's inner-product space (1 - x·y) or squared L2.
typedef enum { RECKIT_HNSW_INNER_PRODUCT = 0, RECKIT_HNSW_L2 = 1 } reckit_hnsw_metric;

/// A new empty index for vectors of `dimension` floats; `capacity` grows as points are added.
reckit_hnsw *reckit_hnsw_create(
    reckit_hnsw_metric metric, size_t dimension, size_t capacity, size_t m, size_t ef_construction,
    size_t seed, char *error, size_t error_length);

/// Reads an index written by `reckit_hnsw_save`; `capacity` is at least its point count.
reckit_hnsw *reckit_hnsw_load(
    const char *path, reckit_hnsw_metric metric, size_t dimension, size_t capacity, char *error,
    size_t error_length);

void reckit_hnsw_free(reckit_hnsw *index);

/// Adds `count` rows of `vectors` (row-major) with `labels[i]` on `threads` threads. A label
/// already present is replaced. With `levels` (may be null), row `i` enters the graph's layers
/// `0...levels[i]` instead of drawn ones: rows with a level above 0 go in first, in order, then the
/// rest. Returns 0, or -1 with `error`.
int reckit_hnsw_add(
    reckit_hnsw *index, const float *vectors, const uint64_t *labels, const int32_t *levels, size_t count,
    size_t threads, char *error, size_t error_length);

/// The `k` nearest points to `query` (smallest distance first) exploring `ef` candidates
/// (at least `k`). Deleted points and the `excluded_count` labels of `excluded` (in any order; may
/// be null) are walked through but never returned. Writes up to `k` labels and distances and
/// returns how many it wrote, or -1 with `error`. Safe to call from many threads at once.
long reckit_hnsw_search(
    const reckit_hnsw *index, const float *query, size_t k, size_t ef, const uint64_t *excluded,
    size_t excluded_count, uint64_t *labels, float *distances, char *error, size_t error_length);

/// hnswlib's own `searchKnn` for the same query, for tests that hold the shim's search to it;
/// -1 when it fails.
long reckit_hnsw_search_library(
    const reckit_hnsw *index, const float *query, size_t k, size_t ef, uint64_t *labels, float *distances);

/// Marks a point deleted (it stays in the graph, never in results) or brings it back.
/// Returns 0, 1 when the label is not in the index, or -1 with `error`.
int reckit_hnsw_set_deleted(reckit_hnsw *index, uint64_t label, int deleted, char *error, size_t error_length);

/// 1 when the label is marked deleted, 0 when it is not, -1 when it is not in the index.
int reckit_hnsw_is_deleted(const reckit_hnsw *index, uint64_t label);

int reckit_hnsw_save(const reckit_hnsw *index, const char *path, char *error, size_t error_length);

size_t reckit_hnsw_count(const reckit_hnsw *index);
size_t reckit_hnsw_deleted_count(const reckit_hnsw *index);

/// The base layer's address (in `address`) and its size in bytes, for tests of its placement.
size_t reckit_hnsw_base_layer(const reckit_hnsw *index, uintptr_t *address);

#ifdef __cplusplus
}
#endif

#endif
