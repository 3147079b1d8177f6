"""Independent NumPy reference for TIFU-KNN and the `next-basket` protocol (issue 44).

TIFU-KNN is Hu, He, Gao and Zhang, "Modeling Personalized Item Frequency Information for
Next-basket Recommendation", SIGIR 2020. This file follows the authors' code line by line,
HaojiHu/TIFUKNN, TIFUKNN.py (commit 15daf63): functions `group_history_list`,
`temporal_decay_sum_history`, `KNN` and `merge_history`; the copy Li et al. ran for
"A Next Basket Recommendation Reality Check" (liming-7/A-Next-Basket-Recommendation-Reality-Check,
methods/tifuknn/tifuknn_new.py) has the same four functions. RecKit's `tifuknn` must follow
this spec; its Recall@10 on the same split must be within 1% of what this script prints.

usage: python3 tifuknn_reference.py --data PATH/interactions.csv [--basket-field order_id]
       [--neighbors 900 --within-decay 0.9 --group-decay 0.7 --alpha 0.9 --groups 3]
       [--phase test|valid] [--dump FILE]

Data. CSV with a header naming user_id, item_id, timestamp and (optionally) the basket column
(--basket-field, default order_id). Items are indexed 0..I-1 in order of first appearance in
the file, users likewise. A basket = the events of one user with one basket-field value; if the
file has no such column, the events of one user with one timestamp. A basket is the SET of its
distinct items. A user's baskets are ordered by their earliest timestamp, ties by the file
position of their first event.

Protocol `next-basket`. Users with fewer than 3 baskets are not evaluated (counted, printed).
Per evaluated user with baskets b_1..b_N: b_N is the test basket, b_{N-1} the validation basket,
b_1..b_{N-2} the training history. TEST phase (the default): the model's history is b_1..b_{N-1}
(training + validation baskets), targets T = the distinct items of b_N. (--phase valid: history
b_1..b_{N-2}, targets b_{N-1}; reported only for tuning.) Repeat targets R = T ∩ items of the
history; explore targets E = T \\ R. No item is masked: every model ranks all I items, top-K
lists for K = 10 and 20, score ties broken by the smaller item index.
Metrics, per user, then averaged:
  Recall@K = |top-K ∩ T| / |T|;  PHR@K = 1 if top-K ∩ T is non-empty;
  NDCG@K = sum over hits at rank r (0-based) of 1/log2(r+2), divided by
           IDCG = sum_{i < min(|T|, K)} 1/log2(i+2)  (binary gains).
  Averaged over all evaluated users. Repeat-only: the same three with T replaced by R (the full
  top-K list is scored; only R counts as relevant; IDCG over min(|R|, K)), averaged over the users
  with R non-empty; explore-only likewise with E. This is Li et al.'s definition
  (evaluation/model_performance.py, get_repeat_eval: truth_repeat = truth ∩ history items,
  get_Recall(truth_repeat, pred, K), averaged over users with len(truth_repeat) > 0; same for
  explore and for the hit ratio). Two differences from their metrics.py, on purpose: their
  get_NDCG takes IDCG over all |T| positions (not min(|T|, K)); they have no repeat/explore NDCG.

TIFU-KNN (hyper-parameters k, m, r_b, r_g, alpha). For a user with history baskets
b_1..b_n (chronological, n >= 1), let x_i in {0,1}^I be the indicator of b_i.
 1. Within-basket decay, by position in the WHOLE history (temporal_decay_sum_history:
    `np.power(within_decay_rate, num_vec-idx)`, idx = 1..num_vec): v_i = r_b^(n-i) * x_i.
    (Not restarted per group: the newest basket of an older group still has a small weight.)
 2. Grouping (group_history_list; `group_size` is the NUMBER of groups m, not baskets per group):
    - n < m: every basket is its own group: G = n groups, g_j = {b_j}.
    - n >= m: G = m groups of consecutive baskets; base = floor(n/m), e = n - m*base (the code
      computes round((n/m - base) * m), which equals n mod m). The first m - e groups (oldest)
      hold base baskets each, the last e groups (newest) hold base + 1 each.
    Group vector = MEAN of its v_i (sum / number of baskets in the group).
 3. Group decay (temporal_decay_sum_history: `np.power(group_decay_rate, group_size - 1 - idx)`,
    idx = 0..G-1 oldest first): u = (1/G) * sum_{j=0}^{G-1} r_g^(m-1-j) * group_j.
    The exponent uses m even when G = n < m, so then the newest group gets r_g^(m-n), not 1;
    the division is by G (`his_vec/real_group_size`).
 4. Neighbours (KNN: sklearn NearestNeighbors(n_neighbors=k, algorithm='brute'), default metric
    minkowski p=2): Euclidean distance between the raw vectors u (no normalisation).
    Candidates: every OTHER user of the file (the authors' query users, the test users, are never
    in their own pool, the training users). A candidate's vector: for an evaluated user, built
    from the same history the phase uses for it (test phase: all baskets before its test basket;
    valid phase: before its validation basket); for a non-evaluated user (< 3 baskets), from all
    its baskets. The k nearest, distance ties broken by the smaller user index; k_eff =
    min(k, number of candidates) (sklearn would refuse k > pool; on the 287-user sample with
    k = 900 every other user is a neighbour).
 5. Mix (merge_history): p = alpha * u + (1 - alpha) * (sum of the k_eff neighbour vectors)/k_eff.
    Plain mean; the authors' distance-weighted softmax (weighted_aggragate_outputs) is unused.
    Rank all items by p, descending (ties: smaller item index; the authors use argsort()[::-1]).
Defaults are the Instacart setting k=900, r_b=0.9, r_g=0.7, alpha=0.9, m=3: Li et al.'s README
line 272 (`tifuknn_new.py ...instacart... 900 0.9 0.7 0.9 3 20`, argv order of main():
k, r_b, r_g, alpha, m, topk). The authors' README (line 27) only gives Ta-Feng:
`300 0.9 0.7 0.7 7 10` (TIFUKNN.py main(), argv[3..8]).

Simple rules printed beside it:
  pop: items by number of training events over all users (training events = every event in an
    evaluated user's phase history, and every event of a non-evaluated user), ties smaller index.
  topfreq ("top-10 most bought"): the user's items by purchase count in the history (events),
    ties by most recent purchase (index of the newest history basket containing it), then pop
    count, then smaller index; items never bought follow by pop.
seq-loo figure: per user, events sorted by (timestamp, file position); the last event's item is
the target; the user's items of all earlier events ranked by count, ties by most recent (the
larger position of the item's newest earlier event); HR@10 = target among the first 10;
no filler when the user has fewer than 10 distinct earlier items; users with >= 2 events.
Also printed with ties by the earliest first purchase (collections.Counter.most_common order):
that rule gives the README's 0.195 on the sample (56/287); "most recent" gives 0.2021 (58/287).
"""
import argparse
import csv
import sys
import time
from collections import defaultdict

import numpy as np


def load(path, basket_field):
    users, items = {}, {}
    events = defaultdict(list)  # user index -> [(file_pos, item, basket_key, ts)]
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        has_basket = basket_field in (reader.fieldnames or [])
        for pos, row in enumerate(reader):
            u = users.setdefault(row["user_id"], len(users))
            i = items.setdefault(row["item_id"], len(items))
            ts = float(row["timestamp"])
            key = row[basket_field] if has_basket else ts
            events[u].append((pos, i, key, ts))
    user_ids = [None] * len(users)
    for k, v in users.items():
        user_ids[v] = k
    item_ids = [None] * len(items)
    for k, v in items.items():
        item_ids[v] = k
    return events, user_ids, item_ids, has_basket


def baskets_of(evs):
    """[(basket key, distinct items in first-appearance order)] ordered by (min ts, first pos)."""
    info = {}
    for pos, i, key, ts in evs:
        b = info.get(key)
        if b is None:
            info[key] = b = [ts, pos, [], set(), key]
        b[0] = min(b[0], ts)
        if i not in b[3]:
            b[3].add(i)
            b[2].append(i)
    return [(b[4], b[2]) for b in sorted(info.values(), key=lambda b: (b[0], b[1]))]


def tifu_vector(history, n_items, m, rb, rg):
    n = len(history)
    v = np.zeros((n, n_items))
    for idx, basket in enumerate(history):          # idx 0..n-1 == authors' idx-1
        v[idx, basket] = rb ** (n - 1 - idx)
    if n < m:
        groups = [v[j:j + 1] for j in range(n)]
    else:
        base, extra = divmod(n, m)
        sizes = [base] * (m - extra) + [base + 1] * extra
        starts = np.concatenate([[0], np.cumsum(sizes)])
        groups = [v[starts[j]:starts[j + 1]] for j in range(m)]
    out = np.zeros(n_items)
    for j, g in enumerate(groups):
        out += g.mean(axis=0) * rg ** (m - 1 - j)
    return out / len(groups)


def top_by_keys(*keys_primary_first, k):
    """Indices of the k best items: every key descending, final tie by smaller index."""
    order = np.lexsort(tuple(-np.asarray(x, dtype=float) for x in reversed(keys_primary_first)))
    return order[:k]  # lexsort is stable, so equal keys keep ascending index


def dcg(hits_mask):
    return float(np.sum(hits_mask / np.log2(np.arange(len(hits_mask)) + 2)))


def idcg(n, k):
    return float(np.sum(1.0 / np.log2(np.arange(min(n, k)) + 2)))


def score_user(top, targets, repeat, ks):
    out = {}
    for part, t in (("all", targets), ("rep", targets & repeat), ("expl", targets - repeat)):
        if not t:
            continue
        for k in ks:
            hit = np.array([i in t for i in top[:k]], dtype=float)
            out[(part, k)] = (hit.sum() / len(t), dcg(hit) / idcg(len(t), k), float(hit.any()))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="interactions.csv (read in place, never copied)")
    ap.add_argument("--basket-field", default="order_id")
    ap.add_argument("--neighbors", type=int, default=900, help="k (Instacart: 900)")
    ap.add_argument("--within-decay", type=float, default=0.9, help="r_b (Instacart: 0.9)")
    ap.add_argument("--group-decay", type=float, default=0.7, help="r_g (Instacart: 0.7)")
    ap.add_argument("--alpha", type=float, default=0.9, help="alpha (Instacart: 0.9)")
    ap.add_argument("--groups", type=int, default=3, help="m, number of groups (Instacart: 3)")
    ap.add_argument("--phase", choices=["test", "valid"], default="test")
    ap.add_argument("--pool", choices=["phase", "training"], default="phase",
                    help="describe neighbour candidates by the phase's history (default) or by "
                         "their training baskets only, as a model fitted on the training part does")
    ap.add_argument("--dump", help="write user_id,model,top-20 item ids (space-separated) here")
    a = ap.parse_args()
    t0 = time.perf_counter()
    ks = (10, 20)

    events, user_ids, item_ids, has_basket = load(a.data, a.basket_field)
    U, I = len(user_ids), len(item_ids)
    baskets = [baskets_of(events[u]) for u in range(U)]
    cut = 1 if a.phase == "test" else 2
    evaluated = [u for u in range(U) if len(baskets[u]) >= 3]
    skipped = U - len(evaluated)
    ev_set = set(evaluated)
    hist_b = [baskets[u][:-cut] if u in ev_set else baskets[u] for u in range(U)]
    hist = [[items for _, items in hist_b[u]] for u in range(U)]
    # position of each history basket, by key; events of other baskets are not history
    hist_pos = [{key: j for j, (key, _) in enumerate(hist_b[u])} for u in range(U)]
    target = {u: set(baskets[u][-cut][1]) for u in evaluated}

    # popularity: number of history events (as defined above) of all users
    pop = np.zeros(I)
    for u in range(U):
        for pos, i, key, ts in events[u]:
            if key in hist_pos[u]:
                pop[i] += 1
    pop_top = top_by_keys(pop, k=max(ks))

    # TIFU-KNN vectors for every user (history as defined above)
    V = np.stack([tifu_vector(hist[u], I, a.groups, a.within_decay, a.group_decay)
                  for u in range(U)])
    # --pool training: the candidates are described by their training baskets only (every
    # basket before the validation basket), as a model fitted on the split's training part
    # knows them; the query user keeps the phase's history.
    pool = V
    if a.pool == "training":
        pool = np.stack([tifu_vector([items for _, items in
                                      (baskets[u][:-2] if u in ev_set else baskets[u])],
                                     I, a.groups, a.within_decay, a.group_decay) for u in range(U)])
    k_eff = min(a.neighbors, U - 1)

    results = {m: defaultdict(list) for m in ("pop", "topfreq", "tifuknn")}
    dump = [] if a.dump else None
    n_rep_users = n_expl_users = 0
    for u in evaluated:
        count = np.zeros(I)          # purchase count = history events of the item
        last = np.full(I, -1.0)      # position of the newest history basket holding it
        for pos, i, key, ts in events[u]:
            j = hist_pos[u].get(key)
            if j is not None:
                count[i] += 1
                last[i] = max(last[i], j)
        hist_items = set(np.nonzero(count)[0].tolist())
        tf_top = top_by_keys(count, last, pop, k=max(ks))

        d = np.sqrt(((pool - V[u]) ** 2).sum(axis=1))
        d[u] = np.inf
        cand = np.lexsort((np.arange(U), d))  # by distance, then smaller user index
        cand = cand[cand != u][:k_eff]
        p = a.alpha * V[u] + (1 - a.alpha) * pool[cand].sum(axis=0) / k_eff
        tifu_top = top_by_keys(p, k=max(ks))

        t = target[u]
        n_rep_users += bool(t & hist_items)
        n_expl_users += bool(t - hist_items)
        for name, top in (("pop", pop_top), ("topfreq", tf_top), ("tifuknn", tifu_top)):
            for key, val in score_user(top.tolist(), t, hist_items, ks).items():
                results[name][key].append(val)
            if dump is not None:
                dump.append(f"{user_ids[u]},{name},{' '.join(item_ids[i] for i in top)}")

    print(f"next-basket ({a.phase} phase) on {a.data}")
    print(f"basket = user x {a.basket_field if has_basket else 'timestamp'}; users {U}, "
          f"items {I}; evaluated {len(evaluated)}, skipped (< 3 baskets) {skipped}; "
          f"users with repeat targets {n_rep_users}, with explore targets {n_expl_users}")
    print(f"tifuknn: k={a.neighbors} (k_eff={k_eff}, candidates = every other user) "
          f"r_b={a.within_decay} r_g={a.group_decay} alpha={a.alpha} m={a.groups}")
    cols = []
    for k in ks:
        cols += [f"R@{k}", f"N@{k}", f"PHR@{k}", f"Rrep@{k}", f"Nrep@{k}", f"PHRrep@{k}",
                 f"Rexp@{k}", f"Nexp@{k}", f"PHRexp@{k}"]
    print(f"{'model':<9}" + "".join(f"{c:>10}" for c in cols))
    for name, res in results.items():
        cells = []
        for k in ks:
            for part in ("all", "rep", "expl"):
                vals = np.array(res[(part, k)])
                cells += [vals[:, 0].mean(), vals[:, 1].mean(), vals[:, 2].mean()]
        print(f"{name:<9}" + "".join(f"{c:>10.4f}" for c in cells))

    # seq-loo figure of the frequency rule, with two tie rules
    hits = {"most recent": 0, "first bought": 0}
    n = 0
    for u in range(U):
        evs = sorted(events[u], key=lambda e: (e[3], e[0]))
        if len(evs) < 2:
            continue
        cnt, rec, fst = defaultdict(int), {}, {}
        for j, e in enumerate(evs[:-1]):
            cnt[e[1]] += 1
            rec[e[1]] = j
            fst.setdefault(e[1], j)
        for rule, key in (("most recent", lambda i: (-cnt[i], -rec[i])),
                          ("first bought", lambda i: (-cnt[i], fst[i]))):
            hits[rule] += evs[-1][1] in sorted(cnt, key=key)[:10]
        n += 1
    for rule, h in hits.items():
        print(f"seq-loo, top-10 most bought (event count, ties: {rule}): HR@10 = {h / n:.4f} "
              f"({h}/{n} users)")
    if dump is not None:
        with open(a.dump, "w", encoding="utf-8") as f:
            f.write("user_id,model,top20\n" + "\n".join(dump) + "\n")
    print(f"time {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
